/**
 * The AdamW update in groups of at most CHUNK entries, with parameters bigger than a group cut
 * into blocks of rows (how a 124M model is updated without full copies of all parameters),
 * equals the update over one group bit for bit: parameters, named moments, setState.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { maxDiff } from '../helpers/tensors.ts';
import { PRESETS } from '../../electron/engine/models/config.ts';
import { AdamW, DEFAULT_ADAMW, planGroups } from '../../electron/engine/train/adamw.ts';
import { initParams } from '../../electron/engine/train/init.ts';
import { toVariables, trainStep, type Variables } from '../../electron/engine/train/step.ts';
import { batchFromStarts, disposeBatch } from '../../electron/engine/train/batches.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';

before(async () => {
  await initBackend();
});

test('planGroups cuts big parameters into whole rows and packs small ones, covering every entry once', () => {
  const groups = planGroups(
    [
      ['a', [10, 8]], // 80: cut into blocks of 12 rows (96 entries)
      ['b', [5]],
      ['c', [3, 4]],
      ['s', []],
    ],
    100,
  );
  const pieces = groups.flat();
  assert.deepEqual(
    pieces.filter((p) => p.name === 'a').map((p) => [p.row0, p.rows, p.whole]),
    [[0, 10, true]],
  );
  const cut = planGroups([['w', [50, 7]]], 100).flat(); // 350 entries, 14 rows (98 entries) a piece
  assert.deepEqual(
    cut.map((p) => [p.row0, p.rows, p.size]),
    [
      [0, 14, 98],
      [14, 14, 98],
      [28, 14, 98],
      [42, 8, 56],
    ],
  );
  for (const g of groups) assert.ok(g.reduce((a, p) => a + p.size, 0) <= 100);
  assert.equal(
    pieces.reduce((a, p) => a + p.size, 0),
    80 + 5 + 12 + 1,
  );
});

test('AdamW in groups of 5000 entries (cut parameters) equals one group bit for bit', async () => {
  const cfg = PRESETS['llama-tiny']!;
  const one: Variables = toVariables(initParams(cfg, 4));
  const many: Variables = toVariables(initParams(cfg, 4));
  const opts = { ...DEFAULT_ADAMW, weightDecay: 0.1 };
  const n0 = tf.memory().numTensors;
  const a = new AdamW(one, opts);
  const b = new AdamW(many, opts, 5000);
  for (let step = 0; step < 3; step++) {
    const grads: Record<string, tf.Tensor> = {};
    let seed = 100 * step;
    for (const [n, v] of Object.entries(one)) grads[n] = tf.randomNormal(v.shape, 0, 0.1, 'float32', seed++);
    a.apply(grads, 1e-2, 0.7);
    b.apply(grads, 1e-2, 0.7);
    tf.dispose(Object.values(grads));
  }
  assert.equal(await maxDiff(one, many), 0, 'parameters');
  assert.equal(await maxDiff(a.m, b.m), 0, 'first moments');
  assert.equal(await maxDiff(a.v, b.v), 0, 'second moments');
  const c = new AdamW(many, opts, 3000);
  c.setState(a.m, a.v, a.t);
  assert.equal(await maxDiff(c.m, a.m), 0, 'setState into other groups round-trips');
  for (const o of [a, b, c]) o.dispose();
  assert.equal(tf.memory().numTensors, n0, 'the optimizers leave nothing behind');
  tf.dispose([...Object.values(one), ...Object.values(many)]);
});

test("a checkpoint's moments by name are freed before the next step's activations", async () => {
  await ensureGradients();
  const cfg = PRESETS['gpt2-tiny']!;
  const vars = toVariables(initParams(cfg, 2));
  const opt = new AdamW(vars, DEFAULT_ADAMW, 5000); // small groups: the step's peak is in the backward pass
  const ids = Uint32Array.from({ length: 200 }, (_, i) => (i * 13) % cfg.vocabSize);
  const b = batchFromStarts(ids, [0, 50], 16);
  const step = async () => (await tf.profile(async () => void (await trainStep(cfg, vars, opt, [b], 1e-3, 1)))).peakBytes;
  const plain = await step();
  const bytes = tf.memory().numBytes;
  assert.ok(Object.keys(opt.m).length > 0 && Object.keys(opt.v).length > 0); // what a checkpoint reads
  const named = tf.memory().numBytes - bytes;
  assert.ok(named > 0, 'the moments by name are materialised');
  const after = await step();
  assert.ok(
    after <= plain + named / 10,
    `peak ${after} bytes after a checkpoint vs ${plain} without: the ${named} bytes of moments by name were kept through the step`,
  );
  assert.equal(tf.memory().numBytes, bytes, 'and they are gone after it');
  disposeBatch(b);
  opt.dispose();
  tf.dispose(Object.values(vars));
});
