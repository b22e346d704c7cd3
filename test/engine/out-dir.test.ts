/** The output-folder policy (io/out-dir.ts) on folders Scion's versions write, in process. */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkOutputDir, OUTPUT_MARKER } from '../../electron/engine/io/out-dir.ts';
import { isModelFolderFile } from '../../electron/engine/models/folder-files.ts';
import { SIDE_FILES } from '../../electron/engine/models/side-files.ts';
import { trainRun } from '../../electron/engine/train/run.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText, makeTinyModel } from '../train/tiny.ts';

describe('output-folder policy', () => {
  const tmp = tempDir('scion-policy-');
  let model: string;
  let data: string;
  let run: string;
  before(async () => {
    model = await makeTinyModel(tmp.dir);
    data = makeText(tmp.dir, 3000);
    run = path.join(tmp.dir, 'run');
    await trainRun({ model, data, out: run, steps: 2, ctx: 16, batch: 2, checkpointEvery: 1 });
  });
  after(() => tmp.cleanup());

  const asRun = (out: string, force = true) => checkOutputDir({ out, kind: 'run', command: 'train', inputs: [{ what: 'the model', path: model }], force });

  test('a run folder of an older version (no marker: checkpoints, final, metrics) is replaceable with --force only', async () => {
    rmSync(path.join(run, OUTPUT_MARKER));
    assert.equal(await asRun(run), 'replace');
    await assert.rejects(asRun(run, false), /a training run is already there/);
  });

  test('a foreign file deep inside a checkpoint is found and named', async () => {
    const deep = path.join(run, 'checkpoints', 'step-00000002', 'model', 'notes.txt');
    writeFileSync(deep, 'mine');
    await assert.rejects(asRun(run), /it holds checkpoints\/step-00000002\/model\/notes\.txt, which Scion did not write/);
    rmSync(deep);
    mkdirSync(path.join(run, 'photos'));
    await assert.rejects(asRun(run), /it holds photos\/, which Scion did not write/);
    rmSync(path.join(run, 'photos'), { recursive: true });
  });

  test('an experiment folder of an older version is continued; a model folder is not a run', async () => {
    const exp = path.join(tmp.dir, 'exp');
    mkdirSync(path.join(exp, 'models', 'zero-pad'), { recursive: true });
    mkdirSync(path.join(exp, 'runs', 'hypercloning+rewarm'), { recursive: true });
    writeFileSync(path.join(exp, 'models', 'zero-pad', 'config.json'), '{}');
    writeFileSync(path.join(exp, 'models', 'hypercloning.moments.safetensors'), '');
    writeFileSync(path.join(exp, 'runs', 'hypercloning+rewarm', 'run.json'), '{}');
    writeFileSync(path.join(exp, 'results.json'), '{}');
    assert.equal(await checkOutputDir({ out: exp, kind: 'experiment', command: 'experiment', inputs: [], force: false }), 'continue');
    writeFileSync(path.join(exp, OUTPUT_MARKER), JSON.stringify({ kind: 'experiment' }));
    await assert.rejects(asRun(exp), /holds an experiment written by Scion, not a training run/);
  });

  test('a symbolic link cannot hide that --out is the model', async () => {
    const link = path.join(tmp.dir, 'link-to-model');
    symlinkSync(model, link);
    await assert.rejects(asRun(link), /link-to-model: the output folder is the model/);
    await assert.rejects(asRun(path.join(link, 'sub')), /the output folder is inside the model/);
  });

  test('a model folder is one list: every side file, the shards and the growth record; nothing else', () => {
    for (const f of [...SIDE_FILES, 'config.json', 'model.safetensors', 'model-00001-of-00002.safetensors', 'growth.json', 'growth-mask.safetensors'])
      assert.ok(isModelFolderFile(f), f);
    for (const f of ['notes.txt', 'model.bin', 'model-1-of-2.safetensors', 'tokenizer.json.bak']) assert.ok(!isModelFolderFile(f), f);
  });

  test('a model folder holding a chat template and added tokens is replaceable; a note beside them is not', async () => {
    const out = path.join(tmp.dir, 'grown-chat');
    mkdirSync(out);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'added_tokens.json', 'chat_template.jinja', 'growth.json'])
      writeFileSync(path.join(out, f), '{}');
    const asModel = () => checkOutputDir({ out, kind: 'model', command: 'grow', inputs: [{ what: 'the source model', path: model }], force: true });
    assert.equal(await asModel(), 'replace');
    writeFileSync(path.join(out, 'notes.txt'), 'keep');
    await assert.rejects(asModel(), /notes\.txt/);
  });
});
