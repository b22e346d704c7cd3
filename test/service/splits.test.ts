/**
 * A dataset that is a fraction of a file (`file.txt#0.9-1`, the CLI's split): added through
 * the service, evaluated and trained on exactly those tokens; the two halves of a split
 * count every token of the file once, as tokenizing it independently says.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { loadDataset } from '../../electron/engine/data/dataset.ts';
import { loadTokenizer } from '../../electron/engine/tokenizer/tokenizer.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { serviceInTempDir, waitForJob, writeText } from './util.ts';

test('train/validation split of one file: token counts, evaluation and training on the fraction', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  await svc.call('project.create', { dir: path.join(dir, 'p'), name: 'Splits' });
  const file = writeText(dir, 'all.txt', 'tinyshakespeare.txt', 30_000);
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'src', copy: false });
  const train = await svc.call('dataset.add', { path: `${file}#0-0.9`, name: 'train', copy: true });
  const val = await svc.call('dataset.add', { path: `${file}#0.9-1`, name: 'val', copy: false });
  assert.deepEqual(train.split, { from: 0, to: 0.9 });
  assert.deepEqual(val.split, { from: 0.9, to: 1 });
  assert.equal(val.path, file, 'the file itself, referenced');
  await assert.rejects(svc.call('dataset.add', { path: `${file}#0.9-2`, name: 'bad', copy: false }), /fraction range FROM-TO/);

  const job = await svc.call('evaluate.start', { modelIds: [model.id], datasetIds: [train.id, val.id] });
  assert.equal((await waitForJob(svc, job.id)).status, 'done');
  const state = await svc.call('project.state', {});
  const count = (id: string) => Object.values(state.datasets.find((d) => d.id === id)!.tokens ?? {})[0]!;
  await initBackend('cpu');
  const all = (await loadDataset(file, await loadTokenizer(fixtureDir('gpt2-shakespeare-d64-l2')), 512)).ids.length;
  assert.equal(count(val.id), all - Math.floor(0.9 * all));
  assert.equal(count(train.id) + count(val.id), all);
  const ev = state.evaluations.find((e) => e.datasetId === val.id)!;
  assert.equal(ev.metrics.windows, Math.floor(count(val.id) / ev.metrics.ctx), 'every window of the split');

  const run = await svc.call('train.start', {
    modelId: model.id,
    datasetId: train.id,
    valDatasetId: val.id,
    name: 'split run',
    settings: { steps: 2, batch: 1, ctx: 16 },
  });
  assert.equal((await waitForJob(svc, run.id)).status, 'done');
  const points = await svc.call('train.metrics', { trainingId: run.entryId! });
  assert.ok(points[0]?.step === 0 && points[0].val_loss !== undefined, 'validated on the held-out split before training');
});
