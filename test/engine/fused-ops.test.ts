/**
 * The fused ops of issue 11 (one tape node each: models/layers.ts siluMul, layerNorm and
 * rmsNorm on the wasm norm kernels of kernels/norm-kernels.ts, models/llama.ts applyRope) on
 * the wasm backend against tfjs's own ops and gradients on the cpu backend (their generic
 * form), on random inputs, and leaking no tensor.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../electron/engine/backend.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { layerNorm, rmsNorm, siluMul } from '../../electron/engine/models/layers.ts';
import { applyRope, rotateHalfMatrix, ropeTables } from '../../electron/engine/models/llama.ts';

const onWasm = (process.env['SCION_BACKEND'] ?? 'wasm') === 'wasm';

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 6 - 3);
}

/** Value and gradients (for the weights `dy`) of `f` on inputs of `shapes`, on the active backend, as arrays. */
async function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][], dyShape: number[]): Promise<Float32Array[]> {
  const xs = shapes.map((s, i) =>
    tf.tensor(
      random(
        s.reduce((a, b) => a * b, 1),
        11 + i,
      ),
      s,
    ),
  );
  const dy = tf.tensor(
    random(
      dyShape.reduce((a, b) => a * b, 1),
      5,
    ),
    dyShape,
  );
  const { value, grads } = tf.valueAndGrads((...ins: tf.Tensor[]) => tf.sum(tf.mul(f(...ins), dy)))(xs);
  const fwd = tf.tidy(() => f(...xs));
  const out = [(await fwd.data()) as Float32Array, ...(await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)))];
  tf.dispose([value, fwd, dy, ...grads, ...xs]);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** `f` fused on wasm against its generic form on the cpu backend: values and gradients within `tol`, no tensor left on wasm. */
async function checkAgainstCpu(
  what: string,
  f: () => (...xs: tf.Tensor[]) => tf.Tensor,
  shapes: number[][],
  dyShape: number[],
  tol: number,
  kernel?: string,
): Promise<void> {
  await ensureGradients();
  await initBackend('cpu');
  process.env['SCION_PEROP'] = '0';
  let ref: Float32Array[];
  try {
    ref = await valueAndGrads(f(), shapes, dyShape);
  } finally {
    delete process.env['SCION_PEROP'];
  }
  await initBackend('wasm');
  const before = tf.memory().numTensors;
  let got: Float32Array[] = [];
  const info = await tf.profile(async () => {
    got = await valueAndGrads(f(), shapes, dyShape);
  });
  assert.equal(tf.memory().numTensors, before, `${what}: no tensor left`);
  if (kernel) assert.ok(info.kernelNames.includes(kernel), `${what} ran ${kernel} (ran ${info.kernelNames.join(', ')})`);
  got.forEach((g, i) => {
    const d = maxAbsDiff(g, ref[i]!);
    assert.ok(d < tol, `${what} ${i === 0 ? 'value' : `gradient ${i - 1}`}: max |wasm fused - cpu generic| = ${d}`);
  });
}

test('siluMul (one tape node) equals silu(gate) * up and its gradients on the cpu backend', { skip: !onWasm && 'wasm only' }, async () => {
  await checkAgainstCpu(
    'siluMul',
    () => (g, u) => siluMul(g!, u!),
    [
      [37, 24],
      [37, 24],
    ],
    [37, 24],
    1e-5,
  );
});

test('applyRope (one tape node) equals x cos + rotate_half(x) sin and its gradient on the cpu backend', { skip: !onWasm && 'wasm only' }, async () => {
  const [b, h, t, hd] = [2, 3, 5, 8];
  await checkAgainstCpu(
    'applyRope',
    () => {
      return (x) =>
        tf.tidy(() => {
          const { cos, sin } = ropeTables(t, hd, 10000);
          const rot = rotateHalfMatrix(hd);
          return applyRope(x as tf.Tensor4D, cos, sin, rot, tf.transpose(rot));
        });
    },
    [[b, h, t, hd]],
    [b, h, t, hd],
    1e-5,
  );
});

for (const [d, kernels] of [
  [64, true],
  [6, false], // a width the SIMD rows cannot take: the generic form
] as const) {
  test(
    `layerNorm and rmsNorm (width ${d}${kernels ? ', norm kernels' : ', generic'}) equal the generic forms and their gradients on the cpu backend`,
    { skip: !onWasm && 'wasm only' },
    async () => {
      const n = 70;
      const kernel = (k: string) => (kernels ? k : undefined);
      await checkAgainstCpu(
        'layerNorm',
        () => (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
        [[n, d], [d], [d]],
        [n, d],
        2e-5,
        kernel('ScionNormGrad'),
      );
      await checkAgainstCpu('rmsNorm', () => (x, w) => rmsNorm(x as tf.Tensor2D, w as tf.Tensor1D, 1e-6), [[n, d], [d]], [n, d], 2e-5, kernel('ScionNormGrad'));
    },
  );
}
