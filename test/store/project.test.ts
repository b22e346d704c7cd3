/**
 * The project folder: entries written and read back, copied vs referenced models (the
 * user's folder never touched), damaged entries reported while the rest opens, a newer
 * schema refused with the file left as it was, the migration path, and deletes that remove
 * only what the project made.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Project } from '../../electron/store/project.ts';
import { importModel } from '../../electron/store/models.ts';
import { addDataset } from '../../electron/store/datasets.ts';
import { SCHEMA_VERSION } from '../../electron/store/migrations.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { listFiles, tempDir } from '../helpers/tmp.ts';
import { writeText } from '../service/util.ts';

function hashTree(dir: string): string {
  const h = createHash('sha256');
  for (const f of listFiles(dir)) h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest('hex');
}

test('entries round-trip through the folder; copied models are copies, referenced ones stay put', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const src = fixtureDir('gpt2-shakespeare-d64-l2');
  const before = hashTree(src);
  const p = await Project.create(path.join(dir, 'proj'), 'Round trip');
  const copied = await importModel(p, { path: src, name: 'copied', copy: true });
  const referenced = await importModel(p, { path: src, name: 'referenced', copy: false });
  const text = writeText(dir, 'a.txt', 'tinyshakespeare.txt', 5000);
  const ds = await addDataset(p, { path: text, name: 'shakespeare', copy: true });

  assert.equal(copied.path, path.join(p.dir, 'models', copied.id, 'model'));
  assert.ok(existsSync(path.join(copied.path, 'model.safetensors')));
  assert.equal(referenced.path, src);
  assert.equal(referenced.referenced, true);
  assert.deepEqual(copied.shape, { family: 'gpt2', hidden: 64, layers: 2, heads: 4, kvHeads: 4, ffn: 256, ctx: 128, vocab: 512 });
  // stored relative when inside, absolute when outside (readable, movable, git-friendly)
  const onDisk = JSON.parse(readFileSync(path.join(p.dir, 'models', copied.id, 'entry.json'), 'utf8')) as { path: string };
  assert.equal(onDisk.path, `models/${copied.id}/model`);
  const refDisk = JSON.parse(readFileSync(path.join(p.dir, 'models', referenced.id, 'entry.json'), 'utf8')) as { path: string };
  assert.equal(refDisk.path, src);

  const again = await Project.open(p.dir);
  assert.deepEqual(again.state().models, p.state().models);
  assert.deepEqual(again.state().datasets, [ds]);
  assert.deepEqual(again.problems, []);
  assert.equal(again.file.schemaVersion, SCHEMA_VERSION);

  // deleting the referenced model removes its entry, never the user's folder
  await again.remove('models', referenced.id);
  assert.equal(existsSync(path.join(p.dir, 'models', referenced.id)), false);
  assert.equal(hashTree(src), before, 'the source folder is unchanged');
  assert.equal((await Project.open(p.dir)).models.has(referenced.id), false);
});

test('a damaged project opens: each bad entry is reported, the rest is there', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const p = await Project.create(path.join(dir, 'proj'), 'Damaged');
  const good = await importModel(p, { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'good', copy: false });
  const other = await importModel(p, { path: fixtureDir('llama-shakespeare-h64-l2'), name: 'other', copy: false });
  const entry = (id: string) => path.join(p.dir, 'models', id, 'entry.json');
  // 1: torn JSON
  writeFileSync(entry(other.id), readFileSync(entry(other.id), 'utf8').slice(0, 40));
  // 2: a field of the wrong type
  mkdirSync(path.join(p.dir, 'models', 'wrong-type'));
  writeFileSync(
    path.join(p.dir, 'models', 'wrong-type', 'entry.json'),
    JSON.stringify({ ...JSON.parse(readFileSync(entry(good.id), 'utf8')), id: 'wrong-type', params: 'many' }),
  );
  // 3: a hand-edited path escaping the project for a model the project claims to own
  mkdirSync(path.join(p.dir, 'models', 'escapes'));
  writeFileSync(
    path.join(p.dir, 'models', 'escapes', 'entry.json'),
    JSON.stringify({ ...JSON.parse(readFileSync(entry(good.id), 'utf8')), id: 'escapes', referenced: false, path: '../../etc' }),
  );
  // 4: a folder without entry.json
  mkdirSync(path.join(p.dir, 'datasets', 'no-entry'), { recursive: true });
  // 5: an evaluation of a model that is not there
  mkdirSync(path.join(p.dir, 'evaluations', 'orphan'), { recursive: true });
  writeFileSync(
    path.join(p.dir, 'evaluations', 'orphan', 'entry.json'),
    JSON.stringify({
      id: 'orphan',
      modelId: 'gone',
      datasetId: 'gone-too',
      metrics: { loss: 1, perplexity: 2.7, accuracy: 0.5, tokens: 10, windows: 1, ctx: 11 },
      backend: 'wasm',
      createdAt: 'x',
    }),
  );
  // leftovers of an interrupted atomic write are cleaned, not reported
  mkdirSync(path.join(p.dir, 'models', `.x.tmp-123-abcdef01`));

  const q = await Project.open(p.dir);
  assert.deepEqual([...q.models.keys()], [good.id]);
  const byFile = Object.fromEntries(q.problems.map((x) => [x.file, x.problem]));
  assert.equal(q.problems.length, 5, JSON.stringify(q.problems, null, 1));
  assert.match(byFile[`models/${other.id}/entry.json`]!, /not valid JSON/);
  assert.match(byFile['models/wrong-type/entry.json']!, /params/);
  assert.match(byFile['models/escapes/entry.json']!, /outside the project folder/);
  assert.match(byFile['datasets/no-entry']!, /entry\.json is missing/);
  assert.match(byFile['evaluations/orphan/entry.json']!, /model 'gone' is not in the project/);
  assert.equal(existsSync(path.join(p.dir, 'models', '.x.tmp-123-abcdef01')), false);
  assert.equal(existsSync('/etc'), true, 'nothing outside was touched');
});

test('a project from a newer Scion is refused and left byte for byte as it was', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const p = await Project.create(path.join(dir, 'proj'), 'Future');
  const file = path.join(p.dir, 'scion-project.json');
  const future = JSON.stringify({ format: 'scion-project', schemaVersion: SCHEMA_VERSION + 1, name: 'Future', createdAt: 'x', newField: { a: 1 } });
  writeFileSync(file, future);
  await assert.rejects(Project.open(p.dir), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_PROJECT_NEWER');
    assert.match(e.message, /newer version of Scion \(project schema 2; this version reads up to 1\)/);
    assert.match(e.message, /scion-project\.json/);
    return true;
  });
  assert.equal(readFileSync(file, 'utf8'), future);
});

test('an older project is migrated step by step, the version bumped last', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const p = await Project.create(path.join(dir, 'proj'), 'Old');
  await importModel(p, { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'm', copy: false });
  const seen: number[] = [];
  const migrations = [
    { from: 1, describe: 'test step 1 -> 2', apply: async (_d: string, raw: Record<string, unknown>) => void seen.push(raw['schemaVersion'] as number) },
    { from: 2, describe: 'test step 2 -> 3', apply: async (_d: string, raw: Record<string, unknown>) => void seen.push(raw['schemaVersion'] as number) },
  ];
  const q = await Project.open(p.dir, { schemaVersion: 3, migrations });
  assert.deepEqual(seen, [1, 2]);
  assert.equal(q.file.schemaVersion, 3);
  assert.equal(q.models.size, 1);
  assert.equal((JSON.parse(readFileSync(path.join(p.dir, 'scion-project.json'), 'utf8')) as { schemaVersion: number }).schemaVersion, 3);
  // with a gap in the path, it refuses instead of guessing
  writeFileSync(path.join(p.dir, 'scion-project.json'), JSON.stringify({ format: 'scion-project', schemaVersion: 1, name: 'Old', createdAt: 'x' }));
  await assert.rejects(Project.open(p.dir, { schemaVersion: 3, migrations: [migrations[0]!] }), /no migration from project schema 2 to 3/);
});

test('bad folders: not a model, not a project, not empty, not a dataset', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const p = await Project.create(path.join(dir, 'proj'), 'Bad');
  const notModel = path.join(dir, 'not-a-model');
  mkdirSync(notModel);
  writeFileSync(path.join(notModel, 'readme.txt'), 'hello');
  await assert.rejects(importModel(p, { path: notModel, name: 'x', copy: true }), /not a model folder: config\.json is missing/);
  const noWeights = path.join(dir, 'no-weights');
  mkdirSync(noWeights);
  writeFileSync(path.join(noWeights, 'config.json'), readFileSync(path.join(fixtureDir('gpt2-shakespeare-d64-l2'), 'config.json')));
  await assert.rejects(importModel(p, { path: noWeights, name: 'x', copy: true }), /no model\.safetensors/);
  await assert.rejects(importModel(p, { path: path.join(dir, 'missing'), name: 'x', copy: false }), /folder not found/);
  await assert.rejects(importModel(p, { path: path.join(p.dir, 'models'), name: 'x', copy: false }), /inside the project folder/);
  assert.deepEqual(
    listFiles(path.join(p.dir)).filter((f) => f !== 'scion-project.json' && f !== '.gitignore'),
    [],
    'nothing was written',
  );

  await assert.rejects(Project.open(notModel), /not a Scion project \(scion-project\.json is missing\)/);
  await assert.rejects(Project.create(notModel, 'x'), /not empty/);
  await assert.rejects(Project.create(p.dir, 'x'), /already holds a Scion project/);

  writeFileSync(path.join(dir, 'bin.txt'), Buffer.from([1, 0, 2, 0, 3]));
  await assert.rejects(addDataset(p, { path: path.join(dir, 'bin.txt'), name: 'b', copy: true }), /not a text file/);
  writeFileSync(path.join(dir, 'odd.bin'), Buffer.from([1, 0, 2]));
  await assert.rejects(addDataset(p, { path: path.join(dir, 'odd.bin'), name: 'b', copy: true }), /size \(3 bytes\) is odd/);
  writeFileSync(path.join(dir, 'empty.txt'), '');
  await assert.rejects(addDataset(p, { path: path.join(dir, 'empty.txt'), name: 'b', copy: true }), /empty/);
  assert.throws(() => p.folder('models', '../escape'), /not a valid models id/);
  assert.throws(() => p.get('models', 'nope-123'), /no model with id 'nope-123'/);
});
