/** AdamW against a hand-computed update, global-norm clipping, and a train step's tensor hygiene. */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { AdamW, decays } from '../../electron/engine/train/adamw.ts';
import { batchFromStarts, disposeBatch } from '../../electron/engine/train/batches.ts';
import { clipByGlobalNorm } from '../../electron/engine/train/clip.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { initParams } from '../../electron/engine/train/init.ts';
import { accumulatedGradients, toVariables, trainStep } from '../../electron/engine/train/step.ts';
import { TINY } from './tiny.ts';

before(async () => {
  await initBackend();
  await ensureGradients();
});

const near = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `[${i}] ${a[i]} != ${b[i]}`);
};

describe('AdamW', () => {
  test('two steps match the update worked out by hand (decay on matrices only)', () => {
    // Expected values computed outside Scion (plain Python) from the AdamW formulas:
    // p <- p(1 - lr wd); m, v EMAs; p <- p - lr m^/(sqrt(v^) + eps); lr 0.1, wd 0.1, betas 0.9/0.999.
    const vars = { 'h.0.w': tf.variable(tf.tensor2d([[1, -2]]), true, 'adamw-test/w'), 'h.0.b': tf.variable(tf.tensor1d([1, -2]), true, 'adamw-test/b') };
    const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
    for (const g of [
      [0.5, -1],
      [0.1, 0.2],
    ]) {
      const grads = { 'h.0.w': tf.tensor2d([g]), 'h.0.b': tf.tensor1d(g) };
      opt.apply(grads, 0.1);
      Object.values(grads).forEach((t) => t.dispose());
    }
    near(vars['h.0.w'].dataSync(), [0.8007959063646517, -1.8100973939804947]);
    near(vars['h.0.b'].dataSync(), [0.8196959063846518, -1.8488973939904947]);
    assert.equal(opt.t, 2);
    opt.dispose();
    Object.values(vars).forEach((v) => v.dispose());
  });

  test('weight decay skips norms, biases and embeddings', () => {
    assert.equal(decays('transformer.h.0.attn.c_attn.weight', [4, 12]), true);
    assert.equal(decays('model.layers.0.mlp.down_proj.weight', [4, 8]), true);
    assert.equal(decays('transformer.h.0.ln_1.weight', [4]), false);
    assert.equal(decays('transformer.h.0.attn.c_attn.bias', [12]), false);
    assert.equal(decays('transformer.wte.weight', [256, 4]), false);
    assert.equal(decays('model.embed_tokens.weight', [256, 4]), false);
  });
});

describe('gradient clipping', () => {
  test('scales by maxNorm / ||g|| over all gradients, only when above', async () => {
    const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }; // global norm 5
    const c = await clipByGlobalNorm(grads, 1);
    assert.ok(Math.abs(c.norm - 5) < 1e-6);
    near(c.grads['a']!.dataSync(), [0.6, 0]);
    near(c.grads['b']!.dataSync(), [0, 0.8]);
    const u = await clipByGlobalNorm(grads, 10);
    near(u.grads['b']!.dataSync(), [0, 4]);
    const off = await clipByGlobalNorm(grads, 0);
    near(off.grads['a']!.dataSync(), [3, 0]);
    for (const r of [c, u, off]) Object.values(r.grads).forEach((t) => t.dispose());
    Object.values(grads).forEach((t) => t.dispose());
  });
});

describe('train step', () => {
  const ids = Uint32Array.from({ length: 400 }, (_, i) => (i * 37 + (i >> 3)) % 256);

  test('leaves no tensors behind and lowers the loss on a repeated batch', async () => {
    const vars = toVariables(initParams(TINY, 3));
    const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
    const batch = batchFromStarts(ids, [0, 50, 100, 150], 16);
    await trainStep(TINY, vars, opt, [batch], 1e-2, 1); // warm any kernel caches
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 5; i++) losses.push((await trainStep(TINY, vars, opt, [batch], 1e-2, 1)).loss);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked by trainStep');
    assert.ok(losses[4]! < losses[0]!, `loss falls: ${losses.join(', ')}`);
    disposeBatch(batch);
    opt.dispose();
    Object.values(vars).forEach((v) => v.dispose());
  });

  test('gradient accumulation over two halves equals one full batch', async () => {
    const vars = toVariables(initParams(TINY, 4));
    const full = batchFromStarts(ids, [0, 50, 100, 150], 16);
    const h1 = batchFromStarts(ids, [0, 50], 16);
    const h2 = batchFromStarts(ids, [100, 150], 16);
    const a = await accumulatedGradients(TINY, vars, [full]);
    const b = await accumulatedGradients(TINY, vars, [h1, h2]);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-5);
    for (const name of Object.keys(vars)) {
      const x = a.grads[name]!.dataSync();
      const y = b.grads[name]!.dataSync();
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
      assert.ok(worst < 1e-5, `${name}: max diff ${worst}`);
    }
    for (const r of [a, b]) Object.values(r.grads).forEach((t) => t.dispose());
    [full, h1, h2].forEach(disposeBatch);
    Object.values(vars).forEach((v) => v.dispose());
  });
});
