/**
 * The whole round trip through the service, with real worker processes: create a project,
 * import a fixture model copied and another referenced, add two datasets, grow, train a few
 * steps, evaluate everything on both datasets, export; then reopen the project in a fresh
 * process and find everything there with its lineage.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ProjectState } from '../../electron/shared/contract.ts';
import { createService } from '../../electron/service/service.ts';
import { inspectModelFolder } from '../../electron/store/models.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { listFiles, tempDir } from '../helpers/tmp.ts';
import { recordEvents, waitForJob, writeText } from './util.ts';

function hashTree(dir: string): string {
  const h = createHash('sha256');
  for (const f of listFiles(dir)) h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest('hex');
}

test('create, import, add data, grow, train, evaluate, export, reopen in a fresh process', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const recentFile = path.join(dir, 'recent.json');
  const svc = createService({ recentFile });
  t.after(() => svc.close());
  const events = recordEvents(svc);
  const referencedSrc = fixtureDir('llama-shakespeare-h64-l2');
  const referencedHash = hashTree(referencedSrc);

  const created = await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Round trip' });
  assert.equal(created.project.schemaVersion, 1);
  const gpt2 = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'GPT-2 source', copy: true });
  const llama = await svc.call('model.import', { path: referencedSrc, name: 'Llama source', copy: false });
  const shakespeare = await svc.call('dataset.add', {
    path: writeText(dir, 'shakespeare.txt', 'tinyshakespeare.txt', 40_000, 1_000_000),
    name: 'Shakespeare tail',
    copy: true,
  });
  const wiki = await svc.call('dataset.add', { path: writeText(dir, 'wiki.txt', 'wikitext2-valid.txt', 20_000), name: 'Wikitext', copy: false });

  // grow: HyperCloning x2, checked on the Shakespeare data
  const growJob = await svc.call('grow.start', { sourceId: gpt2.id, name: 'GPT-2 x2', method: 'hypercloning', widthMult: 2, checkDatasetId: shakespeare.id });
  assert.ok(growJob.entryId, 'the grow job names the new model from the start');
  const grownJob = await waitForJob(svc, growJob.id);
  assert.equal(grownJob.status, 'done');
  assert.equal(grownJob.entryId, growJob.entryId);
  let state = await svc.call('project.state', {});
  const grown = state.models.find((m) => m.kind === 'grown')!;
  assert.equal(grown.id, growJob.entryId, "the job's entryId is the grown model's id");
  assert.equal(grown.shape.hidden, 128);
  assert.equal(grown.lineage?.parent, gpt2.id);
  assert.equal(grown.lineage?.method, 'hypercloning');
  assert.equal(grown.lineage?.growth?.verdict, 'exact');
  assert.ok(grown.lineage!.growth!.maxAbsLogitDiff < 1e-4);
  assert.ok(existsSync(path.join(grown.path, 'growth.json')));

  // train the grown model a few steps, with validation on the Wikitext data
  const trainJob = await svc.call('train.start', {
    modelId: grown.id,
    datasetId: shakespeare.id,
    valDatasetId: wiki.id,
    name: 'Grown run',
    settings: { steps: 4, batch: 2, ctx: 32, checkpointEvery: 2, evalEvery: 2, recompute: true },
  });
  assert.equal((await waitForJob(svc, trainJob.id)).status, 'done');
  state = await svc.call('project.state', {});
  const training = state.trainings[0]!;
  assert.equal(training.status, 'done');
  assert.equal(training.settings.recompute, true, 'the recompute option is recorded');
  assert.equal(JSON.parse(readFileSync(path.join(training.runDir, 'run.json'), 'utf8')).options.recompute, true, 'and reaches the trainer');
  assert.equal(training.lastStep, 4);
  assert.ok(training.initialValLoss !== undefined && training.finalValLoss !== undefined);
  const trained = state.models.find((m) => m.kind === 'trained')!;
  assert.equal(trained.id, training.resultModelId);
  assert.deepEqual(trained.lineage, { parent: grown.id, trainingId: training.id, seed: 0 });
  const live = events.filter((e) => e.type === 'metric' && e.jobId === trainJob.id).map((e) => (e.type === 'metric' ? e.point.step : -1));
  assert.deepEqual(live, [0, 1, 2, 3, 4], 'metrics streamed live: the validation loss before training, then step by step');
  assert.ok(events.some((e) => e.type === 'progress' && e.jobId === trainJob.id && e.etaSeconds !== undefined && e.tokensPerSecond! > 0));

  // evaluate all four models on both datasets
  const evalJob = await svc.call('evaluate.start', { modelIds: state.models.map((m) => m.id), datasetIds: [shakespeare.id, wiki.id], maxWindows: 2 });
  assert.equal((await waitForJob(svc, evalJob.id)).status, 'done');
  state = await svc.call('project.state', {});
  assert.equal(state.evaluations.length, 8);
  const lossOf = (modelId: string, datasetId: string) => state.evaluations.find((e) => e.modelId === modelId && e.datasetId === datasetId)!.metrics.loss;
  for (const d of [shakespeare.id, wiki.id]) {
    // HyperCloning preserves the function: the grown model scores what its source scores
    assert.ok(Math.abs(lossOf(grown.id, d) - lossOf(gpt2.id, d)) < 1e-4, `grown vs source on ${d}`);
  }
  assert.ok(state.evaluations.every((e) => e.backend === 'wasm' && e.metrics.windows === 2 && e.metrics.ctx === 128));
  assert.ok(Object.values(state.datasets.find((d) => d.id === wiki.id)!.tokens ?? {}).every((n) => n > 1000));

  // export the trained model
  const exported = await svc.call('model.export', { id: trained.id, dir: path.join(dir, 'exported') });
  const info = await inspectModelFolder(exported.dir);
  assert.deepEqual(info.shape, trained.shape);
  assert.ok(existsSync(path.join(exported.dir, 'tokenizer.json')));

  await svc.close();
  assert.equal(hashTree(referencedSrc), referencedHash, 'the referenced model folder was not touched');

  // a fresh process sees the same project
  const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'print-state.ts'), state.project.dir, recentFile], {
    encoding: 'utf8',
    env: process.env,
  });
  assert.equal(child.status, 0, child.stderr);
  const reopened = JSON.parse(child.stdout) as { state: ProjectState; metrics: Record<string, Array<{ step: number }>> };
  assert.deepEqual(reopened.state.problems, []);
  for (const k of ['models', 'datasets', 'evaluations', 'trainings', 'jobs'] as const) assert.deepEqual(reopened.state[k], state[k], k);
  assert.deepEqual(
    reopened.metrics[training.id]!.map((p) => p.step),
    [0, 1, 2, 3, 4],
  );
  assert.deepEqual(
    reopened.state.jobs.map((j) => [j.kind, j.status]),
    [
      ['grow', 'done'],
      ['train', 'done'],
      ['evaluate', 'done'],
    ],
  );
  assert.deepEqual(new Set(reopened.state.models.map((m) => m.kind)), new Set(['source', 'grown', 'trained']));
  assert.equal(reopened.state.models.find((m) => m.id === llama.id)!.path, referencedSrc);
});
