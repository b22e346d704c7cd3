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
import { toVariables, type Variables } from '../../electron/engine/train/step.ts';

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
