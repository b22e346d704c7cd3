/**
 * Bad input through the service: every call is validated before it touches the disk, and
 * each refusal says what was wrong. Invalid names, relative paths, paths inside the project
 * where outside is expected (and the reverse), unknown ids, a folder that is not a model,
 * a project from a newer schema, deletes without confirmation or with dependents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createService } from '../../electron/service/service.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { listFiles } from '../helpers/tmp.ts';
import { serviceInTempDir, waitForJob, writeText } from './util.ts';

type Coded = Error & { code?: string };
const rejectsWith = (p: Promise<unknown>, code: string, message: RegExp) =>
  assert.rejects(p, (e: Coded) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });

test('invalid params are refused before anything is written', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const where = path.join(dir, 'proj');
  await rejectsWith(svc.call('project.state', {}), 'E_NO_PROJECT', /no project is open/);
  for (const name of ['', '../evil', 'a/b', 'x'.repeat(81), 'bad\u0000name', ' leading space', 'semi;colon']) {
    await rejectsWith(svc.call('project.create', { dir: where, name }), 'E_INVALID', /^project\.create: name: not a valid name/);
  }
  await rejectsWith(svc.call('project.create', { dir: 'relative/folder', name: 'ok' }), 'E_INVALID', /dir: must be an absolute path/);
  await rejectsWith(svc.call('project.create', { dir: where, name: 'ok', extra: 1 }), 'E_INVALID', /extra/);
  await rejectsWith(svc.call('project.create', { dir: where }), 'E_INVALID', /name/);
  await rejectsWith(svc.call('no.such.method' as 'app.info', {}), 'E_UNKNOWN_METHOD', /unknown method 'no\.such\.method'/);
  assert.deepEqual(listFiles(dir), [], 'nothing was written');

  const state = await svc.call('project.create', { dir: where, name: 'Bad input' });
  const before = listFiles(state.project.dir);
  // a folder that is not a model
  const notModel = path.join(dir, 'photos');
  mkdirSync(notModel);
  writeFileSync(path.join(notModel, 'cat.jpg'), 'meow');
  await rejectsWith(
    svc.call('model.import', { path: notModel, name: 'cat', copy: true }),
    'E_NOT_A_MODEL',
    /photos: not a model folder: config\.json is missing/,
  );
  const broken = path.join(dir, 'broken-model');
  mkdirSync(broken);
  writeFileSync(path.join(broken, 'config.json'), '{"model_type": "bert"}');
  await rejectsWith(svc.call('model.import', { path: broken, name: 'bert', copy: true }), 'E_CONFIG', /model_type = "bert" is not supported/);
  // inside the project where outside is expected
  await rejectsWith(
    svc.call('model.import', { path: path.join(state.project.dir, 'models'), name: 'x', copy: false }),
    'E_INVALID',
    /inside the project folder/,
  );
  await rejectsWith(
    svc.call('dataset.add', { path: path.join(state.project.dir, 'scion-project.json'), name: 'x', copy: false }),
    'E_INVALID',
    /inside the project folder/,
  );
  // a file that is not text
  writeFileSync(path.join(dir, 'image.txt'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]));
  await rejectsWith(svc.call('dataset.add', { path: path.join(dir, 'image.txt'), name: 'img', copy: true }), 'E_DATASET', /not a text file/);
  // unknown ids, and ids that try to name a path
  await rejectsWith(svc.call('model.delete', { id: 'nope-123456', confirm: true }), 'E_UNKNOWN_ID', /no model with id 'nope-123456'/);
  await rejectsWith(svc.call('model.delete', { id: '../../etc', confirm: true }), 'E_INVALID', /id: not a valid id/);
  await rejectsWith(svc.call('train.metrics', { trainingId: 'nope-123456' }), 'E_UNKNOWN_ID', /no training with id/);
  await rejectsWith(svc.call('job.cancel', { jobId: 'nope-123456' }), 'E_UNKNOWN_ID', /no job with id/);
  await rejectsWith(svc.call('evaluate.start', { modelIds: ['nope-123456'], datasetIds: ['nope-654321'] }), 'E_UNKNOWN_ID', /no model with id 'nope-123456'/);
  await rejectsWith(svc.call('evaluate.start', { modelIds: [], datasetIds: [] }), 'E_INVALID', /modelIds: pick at least one model/);
  await rejectsWith(svc.call('grow.start', { sourceId: 'nope-123456', name: 'g', method: 'hypercloning', widthMult: 2 }), 'E_UNKNOWN_ID', /no model/);
  assert.deepEqual(listFiles(state.project.dir), before, 'refused calls wrote nothing');

  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'source', copy: false });
  const text = writeText(dir, 'data.txt', 'tinyshakespeare.txt', 20_000);
  const data = await svc.call('dataset.add', { path: text, name: 'data', copy: false });
  // deletes need confirmation
  await rejectsWith(svc.call('model.delete', { id: model.id } as never), 'E_INVALID', /confirm/);
  await rejectsWith(svc.call('dataset.delete', { id: data.id, confirm: false } as never), 'E_INVALID', /deleting needs confirm: true/);
  // impossible shapes: previewed as not ok, refused at start with the planner's reason, no job recorded
  const preview = await svc.call('grow.preview', { sourceId: model.id, method: 'hypercloning', hidden: 100 });
  assert.equal(preview.ok, false);
  assert.ok(preview.error && preview.error.length > 10, preview.error);
  const okPreview = await svc.call('grow.preview', { sourceId: model.id, method: 'hypercloning', widthMult: 2 });
  assert.deepEqual([okPreview.ok, okPreview.shape?.hidden, okPreview.params! > model.params], [true, 128, true]);
  await assert.rejects(
    svc.call('grow.start', { sourceId: model.id, name: 'impossible', method: 'hypercloning', hidden: 100 }),
    (e: Coded) => e.message === preview.error,
  );
  await rejectsWith(
    svc.call('grow.start', { sourceId: model.id, name: 'm', method: 'no-such-method', widthMult: 2 }),
    'E_USAGE',
    /unknown growth method 'no-such-method'/,
  );
  await rejectsWith(svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 't', settings: { lr: -1 } }), 'E_INVALID', /settings\.lr/);
  await rejectsWith(
    svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 't', settings: { ctx: 4096 } }),
    'E_USAGE',
    /--ctx must be between 1 and the model's context 128/,
  );
  assert.equal((await svc.call('job.list', {})).length, 0);
  // export: not into the project, not over something
  await rejectsWith(svc.call('model.export', { id: model.id, dir: path.join(state.project.dir, 'out') }), 'E_INVALID', /outside the project/);
  await rejectsWith(svc.call('model.export', { id: model.id, dir: notModel }), 'E_EXISTS', /not an empty folder/);
  assert.equal(readFileSync(path.join(notModel, 'cat.jpg'), 'utf8'), 'meow');

  // a model in use by a training session cannot be deleted; the dataset neither
  const job = await svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 'short', settings: { steps: 1, batch: 1, ctx: 16 } });
  await rejectsWith(svc.call('model.delete', { id: model.id, confirm: true }), 'E_IN_USE', /in use by job|used by training session 'short'/);
  assert.equal((await waitForJob(svc, job.id)).status, 'done');
  await rejectsWith(svc.call('dataset.delete', { id: data.id, confirm: true }), 'E_IN_USE', /used by training session 'short'/);
  const trained = (await svc.call('project.state', {})).models.find((m) => m.kind === 'trained')!;
  await rejectsWith(svc.call('model.delete', { id: model.id, confirm: true }), 'E_IN_USE', /model 'source' is the parent of 'short'; delete those first/);
  // a leaf can go; it takes its folder with it and nothing else
  const after = await svc.call('model.delete', { id: trained.id, confirm: true });
  assert.equal(
    after.models.some((m) => m.id === trained.id),
    false,
  );
  assert.equal(
    listFiles(state.project.dir).some((f) => f.startsWith(`models/${trained.id}/`)),
    false,
  );
  assert.equal(readFileSync(text, 'utf8').length, 20_000, 'the referenced dataset file is untouched');
});

test('a project from a newer Scion is refused through the service, and nothing is changed', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const state = await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Future' });
  const file = path.join(state.project.dir, 'scion-project.json');
  const future = JSON.stringify({ format: 'scion-project', schemaVersion: 99, name: 'Future', createdAt: 'x' });
  writeFileSync(file, future);
  const files = listFiles(state.project.dir);
  await rejectsWith(
    svc.call('project.open', { dir: state.project.dir }),
    'E_PROJECT_NEWER',
    /saved by a newer version of Scion \(project schema 99; this version reads up to 1\)\. Update Scion to open it; nothing was changed\./,
  );
  assert.equal(readFileSync(file, 'utf8'), future);
  assert.deepEqual(listFiles(state.project.dir), files);
  // a service started on it stays usable and says why no project is open
  const svc2 = createService({ recentFile: path.join(dir, 'recent.json'), projectDir: state.project.dir });
  t.after(() => svc2.close());
  await rejectsWith(svc2.call('project.state', {}), 'E_NO_PROJECT', /newer version of Scion/);
  assert.deepEqual(await svc2.call('app.info', {}), { version: '0.1.0', backend: process.env['SCION_BACKEND'] ?? 'auto', mode: 'browser' });
});
