/**
 * The hand-written gradients in models/layers.ts (affine, LayerNorm, RMSNorm, GELU, fused
 * grouped-query attention) against tfjs autodiff of the plain textbook formulas, on the
 * backend SCION_BACKEND names (wasm under npm test, with Scion's SIMD kernels).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../electron/engine/backend.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { affineIO, causalAttention, causalMask, geluTanh, layerNorm, matmulConst, rmsNorm } from '../../electron/engine/models/layers.ts';

let seed = 1;
function rand(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    d[i] = (seed / 4294967296) * 2 - 1;
  }
  return tf.tensor(d, shape);
}

/** Value and gradients of sum(f(...) * probe) for the fast and the reference function. */
async function compare(name: string, fast: (...xs: tf.Tensor[]) => tf.Tensor, ref: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): Promise<void> {
  const before = tf.memory().numTensors;
  const probe = tf.tidy(() => rand(fast(...inputs).shape));
  const run = (f: (...xs: tf.Tensor[]) => tf.Tensor) => tf.valueAndGrads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), probe)))(inputs);
  const a = run(fast);
  const b = run(ref);
  const pairs: [string, tf.Tensor, tf.Tensor][] = [
    ['value', a.value, b.value],
    ...a.grads.map((g, i) => [`grad ${i}`, g, b.grads[i]!] as [string, tf.Tensor, tf.Tensor]),
  ];
  for (const [what, x, y] of pairs) {
    const [xd, yd] = [await x.data(), await y.data()];
    let err = 0;
    let scale = 1e-3;
    for (let i = 0; i < xd.length; i++) {
      err = Math.max(err, Math.abs(xd[i]! - yd[i]!));
      scale = Math.max(scale, Math.abs(yd[i]!));
    }
    assert.ok(err <= 1e-5 * scale + 1e-6, `${name} ${what}: differs by ${err} (scale ${scale})`);
  }
  tf.dispose([probe, a.value, b.value, ...a.grads, ...b.grads]);
  assert.equal(tf.memory().numTensors, before, `${name}: tensors leaked`);
}

test('fused layers: gradients match autodiff of the plain formulas', async () => {
  await initBackend();
  await ensureGradients();
  const x = rand([24, 16]);
  const w = rand([16, 20]);
  const b = rand([20]);
  const g = tf.add(rand([16]), 1.5);
  const beta = rand([16]);
  await compare('affineIO', affineIO as (...xs: tf.Tensor[]) => tf.Tensor, (xi, wi, bi) => tf.add(tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D), bi!), [
    x,
    w,
    b,
  ]);
  await compare(
    'layerNorm',
    (xi, gi, bi) => layerNorm(xi as tf.Tensor2D, gi as tf.Tensor1D, bi as tf.Tensor1D, 1e-5),
    (xi, gi, bi) => {
      const { mean, variance } = tf.moments(xi!, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(xi!, mean), tf.sqrt(tf.add(variance, 1e-5))), gi!), bi!);
    },
    [x, g, beta],
  );
  await compare(
    'rmsNorm',
    (xi, gi) => rmsNorm(xi as tf.Tensor2D, gi as tf.Tensor1D, 1e-5),
    (xi, gi) => tf.mul(tf.mul(xi!, tf.rsqrt(tf.add(tf.mean(tf.square(xi!), -1, true), 1e-5))), gi!),
    [x, g],
  );
  const c = rand([16, 12]);
  const ct = tf.transpose(c);
  await compare(
    'matmulConst',
    (xi) => matmulConst(xi as tf.Tensor2D, c as tf.Tensor2D, ct as tf.Tensor2D),
    (xi) => tf.matMul(xi as tf.Tensor2D, c as tf.Tensor2D),
    [x],
  );
  tf.dispose([c, ct]);
  const x3 = tf.mul(x, 3);
  await compare(
    'geluTanh',
    (xi) => geluTanh(xi!),
    (xi) => {
      const inner = tf.mul(tf.add(xi!, tf.mul(tf.pow(xi!, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(xi!, 0.5), tf.add(tf.tanh(inner), 1));
    },
    [x3],
  );
  tf.dispose([x, w, b, g, beta, x3]);
});

for (const [h, kv, hd] of [
  [4, 4, 8],
  [4, 2, 16],
  [6, 2, 6],
] as const) {
  test(`fused attention (heads ${h}, kv heads ${kv}, head dim ${hd}): value and gradients match the unfused formula`, async () => {
    await initBackend();
    await ensureGradients();
    const [bsz, t] = [2, 12];
    const q = rand([bsz, h, t, hd]);
    const k = rand([bsz, kv, t, hd]);
    const v = rand([bsz, kv, t, hd]);
    const mask = causalMask(t);
    const ref = (qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor) => {
      const r = h / kv;
      const rep = (z: tf.Tensor) =>
        tf.concat(
          tf.split(z, kv, 1).flatMap((part) => new Array<tf.Tensor>(r).fill(part)),
          1,
        ); // HF repeat_kv
      const s = tf.add(tf.div(tf.matMul(qi, rep(ki), false, true), Math.sqrt(hd)), mask);
      const o = tf.matMul(tf.softmax(s), rep(vi)); // [B, H, T, hd]
      return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [bsz * t, h * hd]);
    };
    await compare(
      'attention',
      (qi, ki, vi) => causalAttention(qi as tf.Tensor4D, ki as tf.Tensor4D, vi as tf.Tensor4D, mask),
      (qi, ki, vi) => ref(qi!, ki!, vi!),
      [q, k, v],
    );
    tf.dispose([q, k, v, mask]);
  });
}
