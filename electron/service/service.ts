/**
 * The service the UI talks to (Electron IPC in the app, the WebSocket of `scion serve`):
 * `call(method, params)` for every method of the `ScionApi` contract, `onEvent` for job
 * events. Every call's params are checked by the method's zod schema before anything
 * touches the disk. Heavy work (grow, train, evaluate) runs in worker processes through
 * the job runner; this process only reads and writes small JSON entries.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiMethod, ApiParams, ApiResult, JobEvent, ProjectState } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { growthMethods } from '../engine/growth/methods/index.ts';
import type { WorkerLauncher } from '../jobs/launcher.ts';
import { JobRunner } from '../jobs/runner.ts';
import { addDataset } from '../store/datasets.ts';
import { type LockOptions, type ProjectLock, lockProject } from '../store/lock.ts';
import { importModel } from '../store/models.ts';
import { Project } from '../store/project.ts';
import { parseOrThrow } from '../store/schemas.ts';
import { apiParamSchemas } from './api-schemas.ts';
import { deleteDataset, deleteJob, deleteModel, deleteTraining, exportModel } from './entries.ts';
import { startEvaluate } from './evaluate.ts';
import { EventHub } from './events.ts';
import { experimentResults, startExperiment } from './experiment.ts';
import { previewGrowth, startGrow } from './grow.ts';
import { importHandoffRun, startHandoff } from './handoff.ts';
import { JobManager, jobInfo } from './jobs.ts';
import { memoryPlan } from './memory-plan.ts';
import { addRecent, defaultRecentFile, readRecent } from './recent.ts';
import { modelCard } from './model-card.ts';
import { startSample } from './sample.ts';
import { watchChanges } from './watch-changes.ts';
import { readPoints, recoverTrainings, resumeTraining, startTraining } from './train.ts';

export interface ServiceOptions {
  mode?: 'electron' | 'browser';
  /** A project to open at start (`scion serve --project DIR`). */
  projectDir?: string;
  /** Where the recent-projects list is kept (default: ~/.config/scion/recent-projects.json). */
  recentFile?: string;
  /** How workers start: forked Node (default) or Electron's utilityProcess. */
  launcher?: WorkerLauncher;
  workerEntry?: string;
  /** Worker jobs run at once (default 1: one accelerator-bound job at a time). */
  concurrency?: number;
  /** The tfjs backend workers use (default: SCION_BACKEND, else automatic). */
  backend?: string;
  /** How long a cancelled job may take to checkpoint before it is killed (ms). */
  cancelGraceMs?: number;
  /** The project lock's refresh and expiry (tests shorten them). */
  lock?: LockOptions;
}

/** Who is calling: a browser tab's WebSocket, an Electron window. Each has its own open project. */
export type ClientId = string;
export const DEFAULT_CLIENT: ClientId = 'default';

export interface ScionService {
  /** `client` picks whose open project the call works on (default: one shared client). */
  call<M extends ApiMethod>(method: M, params: unknown, client?: ClientId): Promise<ApiResult<M>>;
  /** Job events, each with the folder of the project whose job sent it. */
  onEvent(listener: (e: JobEvent, projectDir: string) => void): () => void;
  /** The folder of the project `client` has open, if any. */
  projectOf(client: ClientId): string | undefined;
  /** The client went away (a closed tab): its project is closed when no one else uses it and no job runs in it. */
  disconnect(client: ClientId): Promise<void>;
  /** Resolves once the start-up project (if any) is open or has failed to open. */
  ready: Promise<void>;
  /** Stops running jobs (a training checkpoints first) and waits for them. */
  close(): Promise<void>;
}

/** Scion's version: the nearest package.json named 'scion' above this file (source tree or built app). */
function appVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'scion' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: look one folder up
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}

type Handlers = { [M in ApiMethod]: (params: ApiParams<M>, client: ClientId) => Promise<ApiResult<M>> };

interface OpenProject {
  project: Project;
  jobs: JobManager;
  lock: ProjectLock;
  stopWatching: () => void;
}

export function createService(opts: ServiceOptions = {}): ScionService {
  const events = new EventHub();
  const recentFile = opts.recentFile ?? defaultRecentFile();
  const runner = new JobRunner({
    ...(opts.launcher ? { launcher: opts.launcher } : {}),
    ...(opts.workerEntry ? { entry: opts.workerEntry } : {}),
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    ...(opts.backend ? { backend: opts.backend } : {}),
    ...(opts.cancelGraceMs ? { cancelGraceMs: opts.cancelGraceMs } : {}),
  });
  /** Open projects by folder: each client (tab, window) views one; several may view the same. */
  const opened = new Map<string, Promise<OpenProject>>();
  const viewing = new Map<ClientId, string>();
  /** The project opened last: what a new client starts on (a reloaded tab, a second one). */
  let lastDir: string | undefined;
  let startupError: string | undefined;
  let closed = false;

  /** Tells every client viewing `project` that another process changed its entries. */
  const changedOnDisk = (project: Project): void => events.emit({ type: 'project-changed', dir: project.dir }, project.dir);
  const busy = (o: OpenProject): boolean => [...o.project.jobs.values()].some((j) => j.status === 'queued' || j.status === 'running');

  /** Opens (or returns the open) project in `dir`: locked, its interrupted jobs and sessions recovered. */
  function openDir(dir: string, load: () => Promise<Project>): Promise<OpenProject> {
    const existing = opened.get(dir);
    if (existing) return existing;
    const p = (async () => {
      const project = await load();
      const lock = await lockProject(project.dir, opts.lock);
      try {
        const jobs = new JobManager(project, runner, (e) => {
          events.emit(e, project.dir);
          if (e.type === 'status' && e.job.status !== 'queued' && e.job.status !== 'running') void releaseIfUnused(project.dir);
        });
        await jobs.recover();
        await recoverTrainings(project);
        // a CLI run with --project writes entries while the project is open here: re-read them and tell the UI
        const stopWatching = watchChanges(project, () => changedOnDisk(project));
        return { project, jobs, lock, stopWatching };
      } catch (e) {
        await lock.release();
        throw e;
      }
    })();
    opened.set(dir, p);
    p.catch(() => opened.delete(dir));
    return p;
  }

  /** Closes a project no client views and no job uses (its lock released for the CLI and other apps). */
  async function releaseIfUnused(dir: string): Promise<void> {
    const p = opened.get(dir);
    if (!p || closed || [...viewing.values()].includes(dir)) return;
    const o = await p.catch(() => undefined);
    if (!o || busy(o) || [...viewing.values()].includes(dir) || opened.get(dir) !== p) return;
    await closeOpen(dir, o);
  }

  async function closeOpen(dir: string, o: OpenProject): Promise<void> {
    opened.delete(dir);
    o.stopWatching();
    await o.project.flush();
    await o.lock.release();
  }

  async function current(client: ClientId): Promise<OpenProject> {
    const dir = viewing.get(client) ?? lastDir;
    if (!dir) throw new ScionError(`no project is open${startupError ? ` (${startupError})` : ''}: create or open one first`, 'E_NO_PROJECT');
    const o = await openDir(dir, () => Project.open(dir));
    viewing.set(client, o.project.dir);
    return o;
  }

  /**
   * An open project only this client views, with no job running, is read again from disk when
   * reopened: read first (a project that cannot be opened now stays open as it was), then the
   * open one is closed and the fresh one returned for `openDir` (read once, not twice).
   */
  async function closeForReload(client: ClientId, dir: string, load: () => Promise<Project>): Promise<Project | undefined> {
    const p = opened.get(dir);
    if (!p || [...viewing].some(([c, d]) => c !== client && d === dir)) return undefined;
    const o = await p.catch(() => undefined);
    if (!o || busy(o) || opened.get(dir) !== p) return undefined;
    await o.project.flush(); // what it still writes is in the fresh read
    const fresh = await load();
    await closeOpen(dir, o);
    return fresh;
  }

  async function switchTo(client: ClientId, dir: string, load: () => Promise<Project>): Promise<ProjectState> {
    const fresh = await closeForReload(client, path.resolve(dir), load);
    const o = await openDir(path.resolve(dir), fresh ? async () => fresh : load);
    const before = viewing.get(client);
    viewing.set(client, o.project.dir);
    lastDir = o.project.dir;
    startupError = undefined;
    if (before && before !== o.project.dir) await releaseIfUnused(before);
    await addRecent(recentFile, o.project.dir);
    return o.project.state();
  }

  const handlers: Handlers = {
    'app.info': async () => ({ version: appVersion(), backend: opts.backend ?? process.env['SCION_BACKEND'] ?? 'auto', mode: opts.mode ?? 'browser' }),
    'project.create': async (p, c) => switchTo(c, p.dir, () => Project.create(p.dir, p.name)),
    'project.open': async (p, c) => switchTo(c, p.dir, () => Project.open(p.dir)),
    'project.recent': async () => readRecent(recentFile),
    'project.state': async (_p, c) => {
      const { project } = await current(c);
      // re-read only after another process stamped a change (the UI calls this often); the other clients on it hear of it too
      if (await project.refresh()) changedOnDisk(project);
      return project.state();
    },
    'model.import': async (p, c) => importModel((await current(c)).project, p),
    'model.delete': async (p, c) => {
      const { project, jobs } = await current(c);
      await project.transaction(() => deleteModel(project, jobs, p.id));
      return project.state();
    },
    'model.export': async (p, c) => ({ dir: await exportModel((await current(c)).project, p.id, p.dir) }),
    'model.card': async (p, c) => modelCard((await current(c)).project, p.id),
    'model.handoff': async (p, c) => {
      const { project, jobs } = await current(c);
      return startHandoff(project, jobs, p);
    },
    'dataset.add': async (p, c) => addDataset((await current(c)).project, p),
    'dataset.delete': async (p, c) => {
      const { project, jobs } = await current(c);
      await project.transaction(() => deleteDataset(project, jobs, p.id));
      return project.state();
    },
    'grow.methods': async () => growthMethods(),
    'grow.preview': async (p, c) => previewGrowth((await current(c)).project, p),
    'memory.plan': async (p, c) => memoryPlan((await current(c)).project, p, opts.backend ?? process.env['SCION_BACKEND']),
    'grow.start': async (p, c) => {
      const { project, jobs } = await current(c);
      return startGrow(project, jobs, p);
    },
    'evaluate.start': async (p, c) => {
      const { project, jobs } = await current(c);
      return startEvaluate(project, jobs, p);
    },
    'train.start': async (p, c) => {
      const { project, jobs } = await current(c);
      return startTraining(project, jobs, p);
    },
    'train.resume': async (p, c) => {
      const { project, jobs } = await current(c);
      return resumeTraining(project, jobs, p.trainingId);
    },
    'train.metrics': async (p, c) => readPoints((await current(c)).project.get('trainings', p.trainingId).runDir),
    'training.import': async (p, c) => {
      const { project } = await current(c);
      const { training, changed } = await importHandoffRun(project, p.dir);
      if (changed) changedOnDisk(project); // the other clients on this project list it too
      return training;
    },
    'training.rename': async (p, c) => {
      const { project } = await current(c);
      await project.save('trainings', { ...project.get('trainings', p.id), name: p.name });
      return project.state();
    },
    'training.delete': async (p, c) => {
      const { project, jobs } = await current(c);
      await deleteTraining(project, jobs, p.id);
      return project.state();
    },
    'job.rename': async (p, c) => {
      const { project } = await current(c);
      return jobInfo(await project.save('jobs', { ...project.get('jobs', p.jobId), title: p.title }));
    },
    'job.delete': async (p, c) => {
      const { project } = await current(c);
      await deleteJob(project, p.jobId);
      return project.state();
    },
    'job.cancel': async (p, c) => (await current(c)).jobs.cancel(p.jobId, p.pause ?? false),
    'job.list': async (_p, c) => [...(await current(c)).project.jobs.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(jobInfo),
    'job.log': async (p, c) => (await current(c)).jobs.readLog(p.jobId),
    'experiment.start': async (p, c) => {
      const { project, jobs } = await current(c);
      return startExperiment(project, jobs, p);
    },
    'experiment.results': async (p, c) => experimentResults((await current(c)).project, p.jobId),
    'sample.start': async (p, c) => {
      const { project, jobs } = await current(c);
      return startSample(project, jobs, p);
    },
  };

  const startDir = opts.projectDir;
  const ready = startDir
    ? switchTo(DEFAULT_CLIENT, startDir, () => Project.open(startDir)).then(
        () => undefined,
        (e: unknown) => {
          startupError = e instanceof Error ? e.message : String(e);
        },
      )
    : Promise.resolve();

  return {
    ready,
    async call<M extends ApiMethod>(method: M, params: unknown, client: ClientId = DEFAULT_CLIENT): Promise<ApiResult<M>> {
      if (closed) throw new ScionError('the Scion service is closed', 'E_CLOSED');
      if (typeof method !== 'string' || !Object.hasOwn(apiParamSchemas, method)) throw new ScionError(`unknown method '${String(method)}'`, 'E_UNKNOWN_METHOD');
      await ready;
      const schema: z.ZodType = apiParamSchemas[method];
      const valid = parseOrThrow(schema, params ?? {}, method) as ApiParams<M>;
      return (handlers[method] as (p: ApiParams<M>, c: ClientId) => Promise<ApiResult<M>>)(valid, client);
    },
    onEvent: (listener) => events.on(listener),
    projectOf: (client) => viewing.get(client) ?? lastDir,
    async disconnect(client) {
      const dir = viewing.get(client);
      viewing.delete(client);
      if (dir && dir !== lastDir) await releaseIfUnused(dir);
    },
    async close() {
      if (closed) return;
      closed = true;
      const all = (await Promise.allSettled([...opened.values()])).flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      // running trainings stop at a checkpoint and show as paused (resumable) next time
      for (const o of all)
        for (const j of o.project.jobs.values()) {
          if (j.status !== 'running' && j.status !== 'queued') continue;
          try {
            o.jobs.cancel(j.id, true);
          } catch {
            // already ending
          }
        }
      await runner.close();
      for (const o of all) {
        o.stopWatching();
        await o.project.flush();
        await o.lock.release();
      }
    },
  };
}
