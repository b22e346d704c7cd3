/**
 * Scion's SIMD kernels for the wasm backend (electron/engine/kernels) against the backend's
 * own kernels, and a training step that runs no transposed matrix product (the slow path).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../electron/engine/backend.ts';
import { installWasmKernels, uninstallWasmKernels, wasmKernelsInstalled } from '../../electron/engine/kernels/wasm-kernels.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { meanLoss } from '../../electron/engine/eval/loss.ts';
import { PRESETS } from '../../electron/engine/models/config.ts';
import { initArrays } from '../../electron/engine/train/init.ts';
import { countMatMulFlags } from '../../bench/profile.ts';

const onWasm = (process.env['SCION_BACKEND'] ?? 'wasm') === 'wasm';

function both<T extends tf.Tensor>(f: () => T): Promise<[Float32Array, Float32Array, number[]]> {
  return (async () => {
    uninstallWasmKernels();
    const ref = f();
    installWasmKernels();
    const fast = f();
    const out: [Float32Array, Float32Array, number[]] = [(await ref.data()) as Float32Array, (await fast.data()) as Float32Array, fast.shape];
    assert.deepEqual(fast.shape, ref.shape);
    tf.dispose([ref, fast]);
    return out;
  })();
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('SIMD batched matMul and transpose equal the wasm backend own kernels', { skip: !onWasm && 'wasm only' }, async () => {
  await initBackend('wasm');
  assert.ok(wasmKernelsInstalled(), 'the kernels are installed when the wasm backend starts');
  const cases: [number[], number[]][] = [
    [
      [2, 3, 5, 7],
      [2, 3, 7, 32],
    ], // N % 16 == 0
    [
      [4, 9, 3],
      [4, 3, 12],
    ], // N % 4 == 0
    [
      [2, 5, 4],
      [2, 4, 6],
    ], // N % 4 != 0: the backend's kernel
    [
      [1, 8, 64, 64],
      [1, 8, 64, 16],
    ],
  ];
  for (const [sa, sb] of cases) {
    const a = tf.randomNormal(sa, 0, 1, 'float32', 1);
    const b = tf.randomNormal(sb, 0, 1, 'float32', 2);
    const [ref, fast] = await both(() => tf.matMul(a, b));
    assert.ok(maxDiff(ref, fast) < 1e-5, `matMul ${sa} x ${sb}: ${maxDiff(ref, fast)}`);
    tf.dispose([a, b]);
  }
  const transposes: [number[], number[]][] = [
    [
      [37, 19],
      [1, 0],
    ], // scalar swap
    [
      [3, 4, 5, 6],
      [0, 1, 3, 2],
    ],
    [
      [2, 3, 4],
      [1, 0, 2],
    ], // other permutations: the backend's kernel
    [
      [512, 128],
      [1, 0],
    ], // 4 x 4 register tiles (swap4)
    [
      [3, 8, 12],
      [0, 2, 1],
    ],
    [
      [2, 4, 4, 8],
      [0, 1, 3, 2],
    ],
  ];
  for (const [shape, perm] of transposes) {
    const x = tf.randomNormal(shape, 0, 1, 'float32', 3);
    const [ref, fast] = await both(() => tf.transpose(x, perm));
    assert.equal(maxDiff(ref, fast), 0, `transpose ${shape} ${perm}`);
    x.dispose();
  }
});

test('a training step runs no matMul with a transpose flag, and leaks nothing', async () => {
  await initBackend();
  await ensureGradients();
  for (const cfg of [PRESETS['gpt2-tiny']!, PRESETS['llama-tiny']!]) {
    const vars: Record<string, tf.Variable> = {};
    for (const [name, { shape, data }] of initArrays(cfg, 0)) vars[name] = tf.variable(tf.tensor(data, shape), true, `flags/${cfg.family}/${name}`);
    const ids = tf.tensor2d(
      Int32Array.from({ length: 2 * 17 }, (_, i) => (i * 7) % cfg.vocabSize),
      [2, 17],
      'int32',
    );
    const inputs = tf.slice(ids, [0, 0], [2, 16]) as tf.Tensor2D;
    const targets = tf.slice(ids, [0, 1], [2, 16]) as tf.Tensor2D;
    const before = tf.memory().numTensors;
    const { result, transposed, total } = countMatMulFlags(() => tf.variableGrads(() => meanLoss(cfg, vars, inputs, targets)));
    assert.ok(total > 0);
    assert.equal(transposed, 0, `${cfg.family}: ${transposed} of ${total} matMuls ran with a transpose flag`);
    assert.equal(Object.keys(result.grads).length, Object.keys(vars).length, 'every parameter has a gradient');
    tf.dispose([result.value, ...Object.values(result.grads)]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([ids, inputs, targets, ...Object.values(vars)]);
  }
});

test('split in heap copies equals the wasm backend own split, on every axis and for int32', { skip: !onWasm && 'wasm only' }, async () => {
  await initBackend('wasm');
  const cases: [number[], number[] | number, number, 'float32' | 'int32'][] = [
    [[1000], [1, 600, 0, 399], 0, 'float32'], // a flat vector, with an empty piece
    [[6, 12], [3, 4, 5], 1, 'float32'],
    [[6, 12], 3, 0, 'float32'],
    [[2, 9, 4], [2, 7], 1, 'float32'],
    [[2, 3, 8], [5, 3], -1, 'int32'],
  ];
  for (const [shape, sizes, axis, dtype] of cases) {
    const x = dtype === 'int32' ? tf.randomUniformInt(shape, -1000, 1000, 4) : tf.randomNormal(shape, 0, 1, 'float32', 4);
    uninstallWasmKernels();
    const ref = tf.split(x, sizes, axis);
    installWasmKernels();
    const fast = tf.split(x, sizes, axis);
    assert.equal(fast.length, ref.length);
    for (let i = 0; i < ref.length; i++) {
      assert.deepEqual(fast[i]!.shape, ref[i]!.shape);
      assert.equal(fast[i]!.dtype, dtype);
      assert.deepEqual(await fast[i]!.data(), await ref[i]!.data(), `split ${shape} ${JSON.stringify(sizes)} axis ${axis} piece ${i}`);
    }
    tf.dispose([x, ...ref, ...fast]);
  }
});

test(
  'a contiguous slice is one heap copy equal to the wasm backend own slice (others keep its kernel), for int32 too',
  { skip: !onWasm && 'wasm only' },
  async () => {
    await initBackend('wasm');
    const cases: [number[], number[], number[], 'float32' | 'int32'][] = [
      [[300, 7], [120, 0], [64, 7], 'float32'], // rows: AdamW's pieces of a large parameter
      [[1000], [999], [1], 'float32'],
      [[5, 4, 3], [2, 0, 0], [3, -1, -1], 'int32'],
      [[6, 12], [0, 3], [6, 4], 'float32'], // columns: not contiguous, the backend's kernel
      [[6, 12], [2, 0], [0, 12], 'float32'], // empty
    ];
    for (const [shape, begin, size, dtype] of cases) {
      const x = dtype === 'int32' ? tf.randomUniformInt(shape, -1000, 1000, 5) : tf.randomNormal(shape, 0, 1, 'float32', 5);
      const [ref, fast] = await both(() => tf.slice(x, begin, size)); // shapes asserted equal there
      assert.ok(fast instanceof (dtype === 'int32' ? Int32Array : Float32Array), `slice of ${dtype} keeps its dtype`);
      assert.deepEqual(fast, ref, `slice ${shape} at ${begin} size ${size}`);
      x.dispose();
    }
  },
);

test('gather in heap copies equals the wasm backend own gather, and rejects an index out of range', { skip: !onWasm && 'wasm only' }, async () => {
  await initBackend('wasm');
  const idx = tf.tensor1d([3, 0, 3, 7, 1], 'int32');
  const cases: [number[], number, 'float32' | 'int32'][] = [
    [[8, 5], 0, 'float32'], // embedding rows
    [[40], 0, 'float32'], // single elements (pickLabels)
    [[2, 8, 3], 1, 'int32'],
    [[3, 8], 1, 'float32'],
  ];
  for (const [shape, axis, dtype] of cases) {
    const x = dtype === 'int32' ? tf.randomUniformInt(shape, -1000, 1000, 5) : tf.randomNormal(shape, 0, 1, 'float32', 5);
    uninstallWasmKernels();
    const ref = tf.gather(x, idx, axis);
    installWasmKernels();
    const fast = tf.gather(x, idx, axis);
    assert.deepEqual(fast.shape, ref.shape);
    assert.deepEqual(await fast.data(), await ref.data(), `gather ${shape} axis ${axis}`);
    tf.dispose([x, ref, fast]);
  }
  const x = tf.zeros([4, 2]);
  assert.throws(() => tf.gather(x, idx), /index value 7 is not in \[0, 3\]/);
  tf.dispose([x, idx]);
});
