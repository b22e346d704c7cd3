/**
 * The renderer's Pinia stores, each test on a fresh pinia: job events update status,
 * progress and curves (also when metric points arrive before the job is known), a failed
 * job's error reaches the message bar, and an engine error from a call is shown as is.
 * The bridge here is a small in-memory stand-in; the real one is exercised end to end.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { createPinia, setActivePinia } from 'pinia';
import type { ApiMethod, JobEvent, JobInfo, MetricPoint, ProjectState } from '../../electron/shared/contract.ts';
import type { AppBridge } from '../../renderer/src/bridge/app-bridge.ts';
import { useAppStore } from '../../renderer/src/stores/app.ts';
import { useJobsStore } from '../../renderer/src/stores/jobs.ts';

const STATE: ProjectState = {
  project: { dir: '/p', name: 'p', schemaVersion: 1, createdAt: '2026-01-01T00:00:00Z' },
  models: [],
  datasets: [],
  evaluations: [],
  trainings: [],
  jobs: [],
  problems: [],
};

function fakeBridge(answers: Partial<Record<ApiMethod, unknown>>): AppBridge & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    mode: 'browser',
    ready: Promise.resolve(),
    onClose: () => undefined,
    onEvent: () => () => undefined,
    async call(method) {
      calls.push(method);
      const a = answers[method];
      if (a instanceof Error) throw a;
      return a as never;
    },
  };
}

const job = (status: JobInfo['status'], extra: Partial<JobInfo> = {}): JobInfo => ({
  id: 'j1',
  kind: 'train',
  status,
  title: 'Train x',
  entryId: 't1',
  createdAt: '2026-01-01T00:00:00Z',
  ...extra,
});
const point = (step: number, loss: number): MetricPoint => ({ step, train_loss: loss, lr: 1e-3, tokens: step * 64, time: step });

beforeEach(() => setActivePinia(createPinia()));

test('connect loads info, methods, recent projects and the open project', async () => {
  const app = useAppStore();
  const bridge = fakeBridge({
    'app.info': { version: '1', backend: 'wasm', mode: 'browser' },
    'grow.methods': [],
    'project.recent': ['/p'],
    'project.state': STATE,
  });
  await app.connect(bridge);
  assert.equal(app.connected, true);
  assert.equal(app.info?.backend, 'wasm');
  assert.deepEqual(app.recent, ['/p']);
  assert.equal(app.state?.project.name, 'p');
  assert.equal(app.screen, 'models');
});

test('an engine error from a call is shown as its message, and attempt() resolves undefined', async () => {
  const app = useAppStore();
  app.bridge = fakeBridge({ 'model.import': new Error('/x: not a model folder: config.json is missing') });
  assert.equal(await app.attempt('model.import', { path: '/x', name: 'x', copy: true }), undefined);
  assert.equal(app.error, '/x: not a model folder: config.json is missing');
});

test('metric points before the job is known are kept, merged by step, and follow the job to its session', () => {
  const jobs = useJobsStore();
  jobs.handle({ type: 'metric', jobId: 'j1', point: point(1, 3) });
  jobs.handle({ type: 'metric', jobId: 'j1', point: point(2, 2.9) });
  assert.equal(jobs.metrics['t1']?.length ?? 0, 0);
  jobs.track(job('running'));
  jobs.handle({ type: 'metric', jobId: 'j1', point: point(2, 2.8) }); // a resumed run sends step 2 again
  jobs.handle({ type: 'metric', jobId: 'j1', point: point(3, 2.7) });
  assert.deepEqual(
    jobs.metrics['t1']?.map((p) => [p.step, p.train_loss]),
    [
      [1, 3],
      [2, 2.8],
      [3, 2.7],
    ],
  );
});

test('progress and status events; a failed job reaches the message bar; finished() resolves', async () => {
  const app = useAppStore();
  app.bridge = fakeBridge({ 'project.state': STATE });
  app.state = STATE;
  const jobs = useJobsStore();
  jobs.track(job('running'));
  assert.equal(jobs.activeFor('t1')?.id, 'j1');
  const progress: JobEvent = { type: 'progress', jobId: 'j1', step: 5, total: 40, loss: 2.5, etaSeconds: 12 };
  jobs.handle(progress);
  assert.equal(jobs.progress['j1']?.etaSeconds, 12);
  const done = jobs.finished('j1');
  jobs.handle({ type: 'status', jobId: 'j1', job: job('failed', { error: 'out of memory' }) });
  assert.equal((await done).status, 'failed');
  assert.equal(app.error, 'Train x failed: out of memory');
  assert.equal(jobs.activeFor('t1'), undefined);
});

test('a grow job: finished() resolves after the one refresh that holds the model its entryId names', async () => {
  const app = useAppStore();
  const grownModel = { id: 'm1', name: 'G', kind: 'grown', path: '/p/m1', referenced: false, params: 1, createdAt: '2026-01-01T00:00:01Z' };
  const withModel = { ...STATE, models: [grownModel] } as unknown as ProjectState;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: string[] = [];
  app.bridge = {
    ...fakeBridge({}),
    async call(method) {
      calls.push(method);
      await gate; // the refresh is slow: finished() must wait for it
      return withModel as never;
    },
  };
  app.state = STATE;
  const jobs = useJobsStore();
  jobs.track(job('running', { kind: 'grow', entryId: 'm1' }));
  const done = jobs.finished('j1');
  jobs.handle({ type: 'status', jobId: 'j1', job: job('done', { kind: 'grow', entryId: 'm1' }) });
  let resolved = false;
  void done.then(() => (resolved = true));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(resolved, false, 'finished() resolved before the project state held the new model');
  release();
  const info = await done;
  assert.equal(app.models.find((m) => m.id === info.entryId)?.name, 'G');
  // a second waiter after the fact gets the same job without another refresh
  assert.equal((await jobs.finished('j1')).entryId, 'm1');
  assert.deepEqual(calls, ['project.state']);
});
