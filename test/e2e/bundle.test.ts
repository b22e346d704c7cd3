/**
 * The desktop app's build (build/build-app.mjs): the preload is one CommonJS file that needs
 * nothing but electron (so it runs sandboxed), and the bundled job worker the app gives to
 * utilityProcess runs real jobs (here under a forked Node, the same entry file).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { JobEvent } from '../../electron/shared/contract.ts';
import { createService } from '../../electron/service/service.ts';
import { cleanup, REPO, tempHome } from './harness.ts';

const DIST = join(REPO, 'dist', 'electron');

before(() => {
  execFileSync(process.execPath, [join(REPO, 'build', 'build-app.mjs'), '--no-renderer'], { cwd: REPO, stdio: 'pipe' });
});

test('the preload bundle is CommonJS and requires only electron', () => {
  const code = readFileSync(join(DIST, 'preload', 'preload.cjs'), 'utf8');
  const requires = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(requires)], ['electron']);
  assert.doesNotMatch(code, /^\s*(import|export)\s/m, 'no ES module syntax');
  assert.match(code, /exposeInMainWorld\("scion"/);
});

test('the main bundle loads the preload, renderer and worker from dist/', () => {
  const code = readFileSync(join(DIST, 'main', 'main.js'), 'utf8');
  for (const part of [
    '"preload.cjs"',
    '"renderer"',
    '"worker.js"',
    'sandbox: true',
    'contextIsolation: true',
    'nodeIntegration: false',
    'requestSingleInstanceLock',
  ])
    assert.ok(code.includes(part), part);
});

let home = '';
after(() => home && cleanup(home));

test('the bundled worker runs a real evaluate job, and a hand-off job', { timeout: 90_000 }, async () => {
  home = tempHome('scion-bundle-');
  const service = createService({ workerEntry: join(DIST, 'worker', 'worker.js'), recentFile: join(home, 'recent.json'), backend: 'wasm' });
  const events: JobEvent[] = [];
  service.onEvent((e) => events.push(e));
  const jobDone = (jobId: string) =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const last = events.filter((e): e is Extract<JobEvent, { type: 'status' }> => e.type === 'status' && e.jobId === jobId).at(-1);
        if (last?.job.status === 'done') resolve();
        else if (last && ['failed', 'cancelled', 'interrupted'].includes(last.job.status)) reject(new Error(`job ${last.job.status}: ${last.job.error}`));
        else setTimeout(check, 100);
      };
      check();
    });
  try {
    await service.call('project.create', { dir: join(home, 'p'), name: 'bundle' });
    const model = await service.call('model.import', { path: join(REPO, 'test', 'fixtures', 'hf', 'gpt2-shakespeare-d64-l2'), name: 'm', copy: false });
    const data = join(home, 'data.txt');
    const text = readFileSync(join(REPO, 'resources', 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 8000);
    (await import('node:fs')).writeFileSync(data, text);
    const ds = await service.call('dataset.add', { path: data, name: 'd', copy: false });
    // enough windows for two batches: on two or more cores the job evaluates on the bundled compute threads
    assert.ok(existsSync(join(DIST, 'worker', 'train-thread.js')), 'the compute thread entry is bundled beside the worker');
    const job = await service.call('evaluate.start', { modelIds: [model.id], datasetIds: [ds.id], maxWindows: 40 });
    await jobDone(job.id);
    const state = await service.call('project.state', {});
    const ev = state.evaluations.find((e) => e.modelId === model.id && e.datasetId === ds.id);
    assert.ok(ev, 'the evaluation is recorded');
    assert.ok(ev.metrics.loss > 0 && ev.metrics.loss < 10, `loss ${ev.metrics.loss}`);
    // a hand-off job: the bundled worker finds train.py and its companions (resources/handoff, from dist/)
    const out = join(home, 'handoff');
    await jobDone((await service.call('model.handoff', { modelId: model.id, datasetId: ds.id, out, settings: { steps: 4, batch: 2, ctx: 32 } })).id);
    for (const f of ['train.py', 'launch.sh', 'scion_torch_models.py', 'requirements.txt', 'README.md']) assert.ok(existsSync(join(out, f)), f);
  } finally {
    await service.close();
  }
});
