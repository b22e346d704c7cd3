/**
 * Each client (a browser tab, an Electron window) has its own open project: a dataset added
 * by one lands in its project, never in the one another client opened since; each gets only
 * its project's job events; a project no client views and no job uses is closed (its lock
 * released); and a new client starts on the project opened last. Also: a training session
 * reads "running" by the time its job's running event arrives.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { JobEvent } from '../../electron/shared/contract.ts';
import { LOCK_FILE } from '../../electron/store/lock.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { serviceInTempDir, waitForJob, writeText } from './util.ts';

test('two clients, two projects: calls and events stay with each client’s own project', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  await svc.call('project.create', { dir: a, name: 'A' }, 'tab-1');
  // a new client starts on the project opened last
  assert.equal((await svc.call('project.state', {}, 'tab-2')).project.dir, a);
  await svc.call('project.create', { dir: b, name: 'B' }, 'tab-2');
  assert.equal((await svc.call('project.state', {}, 'tab-1')).project.name, 'A', 'tab 1 did not switch');
  assert.equal(svc.projectOf('tab-1'), a);
  assert.equal(svc.projectOf('tab-2'), b);

  const file = writeText(dir, 'data.txt', 'tinyshakespeare.txt', 20_000);
  await svc.call('dataset.add', { path: file, name: 'data', copy: true }, 'tab-1');
  assert.equal((await svc.call('project.state', {}, 'tab-1')).datasets.length, 1);
  assert.equal((await svc.call('project.state', {}, 'tab-2')).datasets.length, 0, 'nothing landed in the project tab 2 opened');
  assert.equal(readdirSync(path.join(a, 'datasets')).length, 1);
  assert.ok(!existsSync(path.join(b, 'datasets')) || readdirSync(path.join(b, 'datasets')).length === 0);

  // a job in tab 1's project: its events name that project; the session runs before the job says so
  const events: Array<{ e: JobEvent; dir: string }> = [];
  svc.onEvent((e, d) => events.push({ e, dir: d }));
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'src', copy: false }, 'tab-1');
  const sessionStatusAtRunning: string[] = [];
  const off = svc.onEvent((e) => {
    if (e.type === 'status' && e.job.status === 'running')
      void svc.call('project.state', {}, 'tab-1').then((s) => sessionStatusAtRunning.push(s.trainings[0]!.status));
  });
  const job = await svc.call(
    'train.start',
    { modelId: model.id, datasetId: (await svc.call('project.state', {}, 'tab-1')).datasets[0]!.id, name: 'run', settings: { steps: 3, batch: 1, ctx: 16 } },
    'tab-1',
  );
  await svc.call('project.open', { dir: b }, 'tab-1'); // switching away while it runs is fine: the job goes on
  await svc.call('project.open', { dir: a }, 'tab-1');
  assert.equal((await waitForJob(svc, job.id)).status, 'done');
  off();
  assert.ok(events.length > 0 && events.every((x) => x.dir === a), 'every event names project A');
  assert.deepEqual(sessionStatusAtRunning.slice(0, 1), ['running'], 'the session said running when its job did');

  // tab 2 moves to A and leaves: B is closed and unlocked; A (tab 1's) stays locked
  assert.ok(existsSync(path.join(b, LOCK_FILE)));
  await svc.call('project.open', { dir: a }, 'tab-2');
  await svc.disconnect('tab-2');
  assert.ok(!existsSync(path.join(b, LOCK_FILE)), 'B unlocked once no client views it');
  assert.ok(existsSync(path.join(a, LOCK_FILE)));
});

test('names in any script are accepted (with combining marks), and give readable folder ids', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const s = await svc.call('project.create', { dir: path.join(dir, 'p'), name: 'हिन्दी प्रयोग' });
  assert.equal(s.project.name, 'हिन्दी प्रयोग');
  for (const name of ['Modèle 模型', 'ไทย โมเดล', "Tom's model, v2 & #3", 'Mode\u0300le']) {
    const m = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name, copy: false });
    assert.equal(m.name, name);
    assert.match(m.id, /^[a-z0-9][a-z0-9-]*$/);
  }
  const ids = (await svc.call('project.state', {})).models.map((m) => m.id);
  assert.ok(
    ids.some((id) => id.startsWith('modele-')),
    `accents dropped, not turned into dashes: ${ids.join(' ')}`,
  );
});

test('sessions and experiments: rename, and delete with their folders; refused while running', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const p = path.join(dir, 'p');
  await svc.call('project.create', { dir: p, name: 'P' });
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'src', copy: false });
  const data = await svc.call('dataset.add', { path: writeText(dir, 'd.txt', 'tinyshakespeare.txt', 20_000), name: 'd', copy: true });
  const job = await svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 'run', settings: { steps: 40, batch: 1, ctx: 16 } });
  await waitForJob(svc, job.id, ['running']);
  await assert.rejects(svc.call('training.delete', { id: job.entryId!, confirm: true }), /in use|running/);
  await svc.call('job.cancel', { jobId: job.id });
  await waitForJob(svc, job.id);
  let s = await svc.call('training.rename', { id: job.entryId!, name: 'first try' });
  assert.equal(s.trainings[0]!.name, 'first try');
  await assert.rejects(svc.call('training.rename', { id: job.entryId!, name: '../x' }), /not a valid name/);
  await assert.rejects(svc.call('job.delete', { jobId: job.id, confirm: true }), /delete the session instead/);
  s = await svc.call('training.delete', { id: job.entryId!, confirm: true });
  assert.equal(s.trainings.length, 0);
  assert.ok(!existsSync(path.join(p, 'trainings', job.entryId!)), 'its folder is gone');

  const exp = await svc.call('experiment.start', {
    name: 'e',
    sourceId: model.id,
    datasetId: data.id,
    valDatasetId: data.id,
    target: { hidden: 128 },
    methods: 'hypercloning,scratch',
    noiseDb: 20,
    settings: { steps: 2, batch: 1, ctx: 16, evalEvery: 1 },
  });
  assert.equal((await waitForJob(svc, exp.id, undefined, 120_000)).status, 'done');
  const results = await svc.call('experiment.results', { jobId: exp.id });
  assert.equal((results['settings'] as Record<string, unknown>)['hypercloning_noise_db'], 20, 'the noise reached the experiment');
  assert.ok(Array.isArray(results['measured']));
  assert.equal((await svc.call('job.rename', { jobId: exp.id, title: 'Noise 20 dB' })).title, 'Noise 20 dB');
  s = await svc.call('job.delete', { jobId: exp.id, confirm: true });
  assert.ok(!s.jobs.some((j) => j.id === exp.id));
  assert.ok(!existsSync(path.join(p, 'jobs', exp.id)), 'its runs and results are gone');
});
