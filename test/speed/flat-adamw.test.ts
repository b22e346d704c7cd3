/**
 * The flat AdamW (one update over all parameters at once) against the per-parameter AdamW it
 * replaced (kept as bench/baseline/adamw.ts): bit-for-bit equal parameters and moments, with
 * weight decay on the matrices only; the named moments a checkpoint reads; setState; and a
 * whole trainStep (accumulation, clipping) against the same step written per parameter.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { BaselineAdamW } from '../../bench/baseline/adamw.ts';
import { initBackend } from '../../electron/engine/backend.ts';
import { maxDiff } from '../helpers/tensors.ts';
import { AdamW } from '../../electron/engine/train/adamw.ts';
import { batchFromStarts, disposeBatch } from '../../electron/engine/train/batches.ts';
import { clipByGlobalNorm } from '../../electron/engine/train/clip.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { initParams } from '../../electron/engine/train/init.ts';
import { accumulatedGradients, toVariables, trainStep, type Variables } from '../../electron/engine/train/step.ts';
import { TINY } from '../train/tiny.ts';

before(async () => {
  await initBackend();
  await ensureGradients();
});

const opts = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

function twin(seed: number): [Variables, Variables] {
  const a = toVariables(initParams(TINY, seed));
  const b = toVariables(initParams(TINY, seed));
  return [a, b];
}

function randomGrads(vars: Variables, seed: number): Record<string, tf.Tensor> {
  const g: Record<string, tf.Tensor> = {};
  let s = seed;
  for (const [name, v] of Object.entries(vars)) g[name] = tf.randomNormal(v.shape, 0, 0.1, 'float32', s++);
  return g;
}

test('flat AdamW equals the per-parameter AdamW bit for bit (decay on matrices only)', async () => {
  const [fv, bv] = twin(7);
  const flat = new AdamW(fv, opts);
  const base = new BaselineAdamW(bv, opts);
  for (let step = 0; step < 3; step++) {
    const g = randomGrads(fv, 100 * step);
    flat.apply(g, 0.01 * (step + 1));
    base.apply(g, 0.01 * (step + 1));
    tf.dispose(Object.values(g));
  }
  assert.equal(flat.t, 3);
  assert.equal(await maxDiff(fv, bv), 0, 'parameters');
  assert.equal(await maxDiff(flat.m, base.m), 0, 'first moments');
  assert.equal(await maxDiff(flat.v, base.v), 0, 'second moments');
  // weight decay moved a matrix, not a bias, when the gradient is zero and the moments are too
  const n0 = tf.memory().numTensors;
  const again = new AdamW(fv, opts);
  const zero: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(fv)) zero[name] = tf.zerosLike(v);
  const before = { w: await fv['transformer.h.0.mlp.c_fc.weight']!.data(), b: await fv['transformer.h.0.mlp.c_fc.bias']!.data() };
  again.apply(zero, 0.5);
  const w = await fv['transformer.h.0.mlp.c_fc.weight']!.data();
  const b = await fv['transformer.h.0.mlp.c_fc.bias']!.data();
  assert.equal(w[0], Math.fround(before.w[0]! * Math.fround(1 - 0.5 * 0.1)));
  assert.deepEqual(b, before.b);
  tf.dispose(Object.values(zero));
  again.dispose();
  assert.equal(tf.memory().numTensors, n0, 'an optimizer leaves nothing behind');
  flat.dispose();
  base.dispose();
  tf.dispose([...Object.values(fv), ...Object.values(bv)]);
});

test('named moments follow every update; setState round-trips and checks shapes', async () => {
  const [vars] = twin(8);
  const opt = new AdamW(vars, opts);
  const g = randomGrads(vars, 5);
  opt.apply(g, 0.01);
  const m1 = await opt.m['transformer.wte.weight']!.data();
  opt.apply(g, 0.01);
  const m2 = await opt.m['transformer.wte.weight']!.data();
  assert.notDeepEqual(m1, m2, 'the named moments are refreshed after an update');
  const copyM: Record<string, tf.Tensor> = {};
  const copyV: Record<string, tf.Tensor> = {};
  for (const n of Object.keys(vars)) {
    copyM[n] = tf.clone(opt.m[n]!);
    copyV[n] = tf.clone(opt.v[n]!);
  }
  const other = new AdamW(vars, opts);
  other.setState(copyM, copyV, opt.t);
  assert.equal(other.t, 2);
  assert.equal(await maxDiff(other.m, opt.m), 0);
  assert.equal(await maxDiff(other.v, opt.v), 0);
  const bad = { ...copyM, 'transformer.wte.weight': tf.zeros([3, 3]) };
  assert.throws(() => other.setState(bad, copyV, 1), /'transformer\.wte\.weight' has shape \[3,3\]/);
  const missing = { ...copyM };
  delete missing['transformer.wpe.weight'];
  assert.throws(() => other.setState(missing, copyV, 1), /no moments for 'transformer\.wpe\.weight'/);
  tf.dispose([...Object.values(g), ...Object.values(copyM), ...Object.values(copyV), bad['transformer.wte.weight']!]);
  other.dispose();
  opt.dispose();
  tf.dispose(Object.values(vars));
});

for (const clip of [0, 0.5]) {
  test(`trainStep (flat gradients, clipping ${clip ? 'on the device' : 'off'}) equals the step written per parameter`, async () => {
    const ids = Uint32Array.from({ length: 400 }, (_, i) => (i * 31 + (i >> 2)) % 256);
    const [fv, bv] = twin(9);
    const flat = new AdamW(fv, opts);
    const base = new BaselineAdamW(bv, opts);
    const h1 = batchFromStarts(ids, [0, 40], 16);
    const h2 = batchFromStarts(ids, [90, 200], 16);
    const n0 = tf.memory().numTensors;
    for (let step = 0; step < 3; step++) {
      const r = await trainStep(TINY, fv, flat, [h1, h2], 1e-2, clip);
      const { loss, grads } = await accumulatedGradients(TINY, bv, [h1, h2]);
      const clipped = await clipByGlobalNorm(grads, clip);
      base.apply(clipped.grads, 1e-2);
      tf.dispose([...Object.values(grads), ...Object.values(clipped.grads)]);
      if (clip > 0) assert.ok(clipped.norm > clip, 'the clipping is active');
      assert.ok(Math.abs(r.loss - loss) <= 1e-6 * Math.abs(loss), `loss ${r.loss} vs ${loss}`);
      assert.ok(Math.abs(r.gradNorm - clipped.norm) <= 1e-5 * clipped.norm, `norm ${r.gradNorm} vs ${clipped.norm}`);
    }
    assert.equal(tf.memory().numTensors, n0, 'no tensor leaked');
    // Without clipping the update is the same arithmetic: equal bit for bit. With it, the norm's
    // float32 sum runs over the flat gradient instead of tensor by tensor, so the clipping scale
    // can differ in its last bit, which Adam's normalisation can grow to ~1e-5 of the parameters.
    const d = await maxDiff(fv, bv);
    if (clip === 0) assert.equal(d, 0, 'parameters');
    else assert.ok(d < 1e-4, `parameters differ by ${d}`);
    [h1, h2].forEach(disposeBatch);
    flat.dispose();
    base.dispose();
    tf.dispose([...Object.values(fv), ...Object.values(bv)]);
  });
}
