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
    [[2, 3, 5, 7], [2, 3, 7, 32]], // N % 16 == 0
    [[4, 9, 3], [4, 3, 12]], // N % 4 == 0
    [[2, 5, 4], [2, 4, 6]], // N % 4 != 0: the backend's kernel
    [[1, 8, 64, 64], [1, 8, 64, 16]],
  ];
  for (const [sa, sb] of cases) {
    const a = tf.randomNormal(sa, 0, 1, 'float32', 1);
    const b = tf.randomNormal(sb, 0, 1, 'float32', 2);
    const [ref, fast] = await both(() => tf.matMul(a, b));
    assert.ok(maxDiff(ref, fast) < 1e-5, `matMul ${sa} x ${sb}: ${maxDiff(ref, fast)}`);
    tf.dispose([a, b]);
  }
  for (const [shape, perm] of [[[37, 19], [1, 0]], [[3, 4, 5, 6], [0, 1, 3, 2]], [[2, 3, 4], [1, 0, 2]]] as [number[], number[]][]) {
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
    const ids = tf.tensor2d(Int32Array.from({ length: 2 * 17 }, (_, i) => (i * 7) % cfg.vocabSize), [2, 17], 'int32');
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
