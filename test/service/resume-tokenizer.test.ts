/**
 * The app's path through the same trainer: a session of a model with a tokenizer, paused,
 * resumed, paused again after the checkpoint it resumed from was pruned, resumed to the end,
 * trains exactly like an uninterrupted session, and its trained model carries the tokenizer
 * and scores like the uninterrupted one in the evaluation matrix (not loss ~25 / accuracy 0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { Id } from '../../electron/shared/contract.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { afterStep, serviceInTempDir, waitForJob, writeText } from './util.ts';

test('a session paused twice (past pruning) and resumed trains like one never paused, and keeps its tokenizer', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Resume' });
  const source = fixtureDir('gpt2-shakespeare-d64-l2');
  const model = await svc.call('model.import', { path: source, name: 'source', copy: false });
  const data = await svc.call('dataset.add', { path: writeText(dir, 'data.txt', 'tinyshakespeare.txt', 60_000), name: 'data', copy: true });
  const settings = { steps: 400, batch: 2, ctx: 32, checkpointEvery: 5, evalEvery: 1000 };

  const reference = await svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 'reference', settings });
  assert.equal((await waitForJob(svc, reference.id, undefined, 300_000)).status, 'done');

  const paused = await svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 'paused', settings });
  const trainingId = paused.entryId!;
  await afterStep(svc, paused.id, 8);
  await svc.call('job.cancel', { jobId: paused.id, pause: true });
  assert.equal((await waitForJob(svc, paused.id)).status, 'cancelled');
  const firstPause = (await svc.call('project.state', {})).trainings.find((x) => x.id === trainingId)!.lastStep;

  const again = await svc.call('train.resume', { trainingId });
  await afterStep(svc, again.id, firstPause + 30);
  await svc.call('job.cancel', { jobId: again.id, pause: true });
  assert.equal((await waitForJob(svc, again.id)).status, 'cancelled');
  const session = (await svc.call('project.state', {})).trainings.find((x) => x.id === trainingId)!;
  assert.ok(session.lastStep < 400, `paused again at ${session.lastStep}`);
  const kept = readdirSync(path.join(session.runDir, 'checkpoints')).filter((n) => n.startsWith('step-'));
  assert.ok(
    kept.every((n) => Number(n.slice(5)) > firstPause),
    `the first pause's checkpoint (step ${firstPause}) was pruned: ${kept.join(', ')}`,
  );

  const last = await svc.call('train.resume', { trainingId });
  assert.equal((await waitForJob(svc, last.id, undefined, 300_000)).status, 'done');

  const losses = async (id: Id) => (await svc.call('train.metrics', { trainingId: id })).map((p) => p.train_loss);
  assert.deepEqual(await losses(trainingId), await losses(reference.entryId!), 'every step, as if never paused');

  const state = await svc.call('project.state', {});
  const trained = (id: Id) => state.models.find((m) => m.id === state.trainings.find((x) => x.id === id)!.resultModelId)!;
  const [a, b] = [trained(trainingId), trained(reference.entryId!)];
  assert.deepEqual(readFileSync(path.join(a.path, 'tokenizer.json')), readFileSync(path.join(source, 'tokenizer.json')));
  assert.ok(existsSync(path.join(a.path, 'generation_config.json')));

  const evaluation = await svc.call('evaluate.start', { modelIds: [a.id, b.id], datasetIds: [data.id], maxWindows: 16 });
  assert.equal((await waitForJob(svc, evaluation.id, undefined, 120_000)).status, 'done');
  const scores = (await svc.call('project.state', {})).evaluations;
  const score = (id: Id) => scores.find((e) => e.modelId === id)!.metrics;
  assert.equal(score(a.id).loss, score(b.id).loss);
  assert.ok(score(a.id).loss < 4 && score(a.id).accuracy > 0.2, `loss ${score(a.id).loss}, accuracy ${score(a.id).accuracy}`);
});
