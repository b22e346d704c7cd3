/**
 * Jobs through the service: one accelerator job at a time (the next waits queued), pause and
 * cancel (the run checkpoints and stops; resume continues it), a failed job that records its
 * error and leaves the project readable, and an experiment job with its results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createService } from '../../electron/service/service.ts';
import { Project } from '../../electron/store/project.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { afterStep, serviceInTempDir, waitForJob, writeText } from './util.ts';

test('one job at a time; pause and cancel checkpoint and stop; resume continues', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Jobs' });
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'source', copy: false });
  const data = await svc.call('dataset.add', { path: writeText(dir, 'data.txt', 'tinyshakespeare.txt', 30_000), name: 'data', copy: true });
  const settings = { steps: 40, batch: 2, ctx: 32, checkpointEvery: 10, evalEvery: 100 };
  const first = await svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 'first', settings });
  const second = await svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 'second', settings });
  await afterStep(svc, first.id, 2);
  let jobs = await svc.call('job.list', {});
  assert.deepEqual(
    jobs.map((j) => j.status),
    ['running', 'queued'],
    'the second waits for the first',
  );

  await svc.call('job.cancel', { jobId: first.id, pause: true });
  assert.equal((await waitForJob(svc, first.id)).status, 'cancelled');
  let state = await svc.call('project.state', {});
  const paused = state.trainings.find((x) => x.id === first.entryId)!;
  assert.equal(paused.status, 'paused');
  assert.ok(paused.lastStep >= 2 && paused.lastStep < 40, `paused at ${paused.lastStep}`);
  // the pause checkpointed at the step it stopped on
  assert.ok(existsSync(path.join(paused.runDir, 'checkpoints', `step-${String(paused.lastStep).padStart(8, '0')}`)), `a checkpoint at step ${paused.lastStep}`);
  assert.equal(readFileSync(path.join(paused.runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length, paused.lastStep);

  await waitForJob(svc, second.id, ['running']);
  await afterStep(svc, second.id, 1);
  await svc.call('job.cancel', { jobId: second.id });
  assert.equal((await waitForJob(svc, second.id)).status, 'cancelled');
  state = await svc.call('project.state', {});
  assert.equal(state.trainings.find((x) => x.id === second.entryId)!.status, 'cancelled');

  const resumed = await svc.call('train.resume', { trainingId: paused.id });
  assert.equal((await waitForJob(svc, resumed.id)).status, 'done');
  const steps = (await svc.call('train.metrics', { trainingId: paused.id })).map((p) => p.step);
  assert.deepEqual(
    steps,
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
  await assert.rejects(svc.call('train.resume', { trainingId: paused.id }), /has finished/);
  jobs = await svc.call('job.list', {});
  assert.deepEqual(
    jobs.map((j) => j.status),
    ['cancelled', 'cancelled', 'done'],
  );
});

test('a failed job records its error and the project stays readable', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const state = await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Fails' });
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'source', copy: false });
  // token ids beyond the model's 512-token vocabulary: the evaluation must fail, clearly
  const ids = Buffer.alloc(2 * 600);
  for (let i = 0; i < 600; i++) ids.writeUInt16LE(1000 + i, 2 * i);
  writeFileSync(path.join(dir, 'big-vocab.bin'), ids);
  const data = await svc.call('dataset.add', { path: path.join(dir, 'big-vocab.bin'), name: 'too big', copy: true });
  const job = await svc.call('evaluate.start', { modelIds: [model.id], datasetIds: [data.id] });
  const failed = await waitForJob(svc, job.id);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error!, /token id 1000 at position 0 is outside the model's vocabulary \(512\)/);
  assert.match(readFileSync(path.join(state.project.dir, 'jobs', job.id, 'log.txt'), 'utf8'), /outside the model's vocabulary/);
  const reopened = await Project.open(state.project.dir);
  assert.deepEqual(reopened.problems, []);
  assert.equal(reopened.jobs.get(job.id)!.status, 'failed');
  assert.equal(reopened.evaluations.size, 0);
});

test('an experiment job: grown vs scratch, results in the project', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Experiment' });
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'source', copy: false });
  const train = await svc.call('dataset.add', { path: writeText(dir, 'train.txt', 'tinyshakespeare.txt', 30_000), name: 'train', copy: true });
  const val = await svc.call('dataset.add', { path: writeText(dir, 'val.txt', 'tinyshakespeare.txt', 10_000, 1_000_000), name: 'val', copy: true });
  await assert.rejects(
    svc.call('experiment.start', {
      name: 'x',
      sourceId: model.id,
      datasetId: train.id,
      valDatasetId: val.id,
      target: { hidden: 128 },
      methods: 'bogus',
      settings: {},
    }),
    /bogus/,
  );
  const job = await svc.call('experiment.start', {
    name: 'tiny',
    sourceId: model.id,
    datasetId: train.id,
    valDatasetId: val.id,
    target: { hidden: 128 },
    methods: 'hypercloning,scratch',
    settings: { steps: 2, batch: 2, ctx: 32 },
  });
  const done = await waitForJob(svc, job.id, undefined, 120_000);
  assert.equal(done.status, 'done', done.error);
  const results = await svc.call('experiment.results', { jobId: job.id });
  assert.equal(results['format'], 'scion-experiment/1');
  assert.equal((results['runs'] as unknown[]).length, 2);
});

test('closing the service stops a running training at a checkpoint; it shows as paused and resumes', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const recentFile = path.join(dir, 'recent.json');
  const svc = createService({ recentFile });
  const state = await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Quit' });
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'source', copy: false });
  const data = await svc.call('dataset.add', { path: writeText(dir, 'data.txt', 'tinyshakespeare.txt', 30_000), name: 'data', copy: true });
  const job = await svc.call('train.start', {
    modelId: model.id,
    datasetId: data.id,
    name: 'quit',
    settings: { steps: 40, batch: 2, ctx: 32, checkpointEvery: 10, evalEvery: 100 },
  });
  await afterStep(svc, job.id, 2);
  await svc.close();

  const again = createService({ recentFile });
  t.after(() => again.close());
  const reopened = await again.call('project.open', { dir: state.project.dir });
  assert.equal(reopened.jobs[0]!.status, 'cancelled');
  const session = reopened.trainings[0]!;
  assert.equal(session.status, 'paused');
  assert.ok(existsSync(path.join(session.runDir, 'checkpoints', `step-${String(session.lastStep).padStart(8, '0')}`)));
  const resumed = await again.call('train.resume', { trainingId: session.id });
  assert.equal((await waitForJob(again, resumed.id)).status, 'done');
  assert.deepEqual(
    (await again.call('train.metrics', { trainingId: session.id })).map((p) => p.step),
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
});
