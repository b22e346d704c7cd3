/**
 * The app store: the bridge, the open project's state, and the message bar. Every call goes
 * through `call`, so an engine error always reaches the user as a readable message.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ApiMethod, ApiParams, ApiResult, MethodInfo, ModelEntry, ProjectState } from '../../../electron/shared/contract.ts';
import { readableError } from '../bridge/api-error.ts';
import type { AppBridge } from '../bridge/app-bridge.ts';
import { withTimeout } from '../bridge/request-timeout.ts';

export type Screen = 'projects' | 'models' | 'grow' | 'datasets' | 'evaluations' | 'training' | 'experiments' | 'sample';

/** Where a tab remembers the project it has open (each tab or window has its own). */
const PROJECT_KEY = 'scion.project';
/** The tab's session storage (absent outside a browser). */
const tabStorage = () => (globalThis as { sessionStorage?: { getItem(k: string): string | null; setItem(k: string, v: string): void } }).sessionStorage;

export const useAppStore = defineStore('app', () => {
  const bridge = shallowRef<AppBridge | undefined>();
  const info = ref<ApiResult<'app.info'> | undefined>();
  const state = ref<ProjectState | undefined>();
  const recent = ref<string[]>([]);
  const methods = ref<MethodInfo[]>([]);
  const screen = ref<Screen>('projects');
  const error = ref<string | undefined>();
  const notice = ref<string | undefined>();
  const connected = ref(false);

  const models = computed(() => state.value?.models ?? []);
  const datasets = computed(() => state.value?.datasets ?? []);
  const modelById = computed(() => new Map(models.value.map((m) => [m.id, m])));

  function bridgeOrThrow(): AppBridge {
    if (!bridge.value) throw new Error('Not connected to the Scion engine.');
    return bridge.value;
  }

  /** Calls the engine; on failure shows the message and rethrows (callers may ignore it). */
  async function call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
    try {
      return await withTimeout(method, bridgeOrThrow().call(method, params));
    } catch (e) {
      error.value = readableError(e);
      throw e;
    }
  }

  /** Like `call`, but resolves undefined on failure (the message is already shown). */
  async function attempt<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M> | undefined> {
    try {
      return await call(method, params);
    } catch {
      return undefined;
    }
  }

  async function connect(b: AppBridge): Promise<void> {
    bridge.value = b;
    b.onClose(() => {
      connected.value = false;
      error.value = 'The connection to the Scion engine was closed. Restart `scion serve` and reload.';
    });
    try {
      await b.ready;
      connected.value = true;
    } catch (e) {
      error.value = readableError(e);
      return;
    }
    info.value = await attempt('app.info', {});
    methods.value = (await attempt('grow.methods', {})) ?? [];
    recent.value = (await attempt('project.recent', {})) ?? [];
    // this tab's (window's) own project survives a reload; a new tab starts on the last one opened
    const mine = tabStorage()?.getItem(PROJECT_KEY);
    const current =
      (mine ? await b.call('project.open', { dir: mine }).catch(() => undefined) : undefined) ?? (await b.call('project.state', {}).catch(() => undefined));
    if (current) {
      state.value = current;
      tabStorage()?.setItem(PROJECT_KEY, current.project.dir);
      screen.value = 'models';
    }
  }

  async function refresh(): Promise<void> {
    if (!state.value) return;
    const s = await attempt('project.state', {});
    if (s) state.value = s;
  }

  async function setProject(s: ProjectState | undefined): Promise<void> {
    if (!s) return;
    state.value = s;
    tabStorage()?.setItem(PROJECT_KEY, s.project.dir);
    error.value = undefined;
    recent.value = (await attempt('project.recent', {})) ?? recent.value;
    screen.value = 'models';
  }

  function children(id: string): ModelEntry[] {
    return models.value.filter((m) => m.lineage?.parent === id);
  }

  function say(message: string): void {
    notice.value = message;
    error.value = undefined;
  }

  return {
    bridge,
    info,
    state,
    recent,
    methods,
    screen,
    error,
    notice,
    connected,
    models,
    datasets,
    modelById,
    call,
    attempt,
    connect,
    refresh,
    setProject,
    children,
    say,
  };
});
