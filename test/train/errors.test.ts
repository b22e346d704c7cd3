/** `scion train` refuses bad input with a clear message and writes nothing. */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resumeRun, trainRun } from '../../electron/engine/train/run.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText, makeTinyModel } from './tiny.ts';

describe('scion train: bad input, and a run leaves no tensors', () => {
  const tmp = tempDir();
  let model: string;
  let data: string;
  before(async () => {
    model = await makeTinyModel(tmp.dir);
    data = makeText(tmp.dir, 3000);
  });
  after(() => tmp.cleanup());

  test('a missing dataset is named and no run folder is created', async () => {
    const out = path.join(tmp.dir, 'run-missing');
    await assert.rejects(trainRun({ model, data: path.join(tmp.dir, 'nope.txt'), out, steps: 2 }), /nope\.txt: dataset not found/);
    assert.equal(existsSync(out), false);
  });

  test('options are checked against the model', async () => {
    const out = path.join(tmp.dir, 'run-ctx');
    await assert.rejects(trainRun({ model, data, out, steps: 2, ctx: 64 }), /--ctx must be between 1 and the model's context 32, got 64/);
    await assert.rejects(trainRun({ model, data, out, steps: 0 }), /--steps must be an integer >= 1/);
    await assert.rejects(trainRun({ model, data, out, steps: 2, minLr: 1 }), /--min-lr must be between 0 and --lr/);
    await assert.rejects(trainRun({ model, data: `${data}#0.5-0.2`, out, steps: 2 }), /fraction range FROM-TO/);
  });

  test('a non-empty folder that is not a run is never written into; --resume needs a run', async () => {
    const out = path.join(tmp.dir, 'precious');
    mkdirSync(out);
    writeFileSync(path.join(out, 'notes.txt'), 'keep me');
    await assert.rejects(trainRun({ model, data, out, steps: 2, force: true }), /not empty and is not a training run/);
    assert.ok(existsSync(path.join(out, 'notes.txt')));
    await assert.rejects(resumeRun(out), /not a training run \(run\.json is missing\)/);
  });

  test('an existing run is not overwritten without force', async () => {
    const out = path.join(tmp.dir, 'run-twice');
    const tensors = tf.memory().numTensors;
    const r = await trainRun({ model, data, val: data, out, steps: 2, ctx: 16, batch: 2, evalEvery: 1 });
    assert.equal(r.status, 'completed');
    assert.equal(tf.memory().numTensors, tensors, 'a whole run (training, evaluation, checkpoints) frees every tensor');
    await assert.rejects(trainRun({ model, data, out, steps: 2, ctx: 16, batch: 2 }), /a training run is already there \(continue it with --resume/);
    const again = await trainRun({ model, data, out, steps: 3, ctx: 16, batch: 2, force: true });
    assert.equal(again.step, 3);
  });
});
