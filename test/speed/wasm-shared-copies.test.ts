/**
 * The wasm backend's Identity and same-dtype Cast share their input's buffer
 * (kernels/shared-copies.ts): the values are the input's, the buffer outlives whichever
 * tensor goes first and is freed with the last, and the gradients of a transformer block
 * (saved tensors are Identity copies, Mul's gradient casts) equal the cpu backend's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../electron/engine/backend.ts';
import { installSharedCopies, sharedCopiesInstalled, uninstallSharedCopies } from '../../electron/engine/kernels/shared-copies.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { meanLoss } from '../../electron/engine/eval/loss.ts';
import { PRESETS } from '../../electron/engine/models/config.ts';
import { initArrays } from '../../electron/engine/train/init.ts';

const onWasm = (process.env['SCION_BACKEND'] ?? 'wasm') === 'wasm';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function offset(t: tf.Tensor): number {
  return (tf.backend() as BackendWasm).dataIdMap.get(t.dataId)!.memoryOffset;
}

test('Identity and same-dtype Cast share the buffer; it lives until the last tensor goes', { skip: !onWasm && 'wasm only' }, async () => {
  await initBackend('wasm');
  assert.ok(sharedCopiesInstalled(), 'installed when the wasm backend starts');
  const before = tf.memory().numTensors;
  const buffers = tf.engine().backend.numDataIds();
  const x = tf.tensor2d([1.5, -2, 3.25, 4], [2, 2]);
  const c = tf.clone(x);
  const f = tf.cast(x, 'float32');
  assert.equal(offset(c), offset(x), 'the clone is the same buffer');
  assert.equal(offset(f), offset(x), 'a float32 -> float32 cast is the same buffer');
  assert.equal(tf.engine().backend.numDataIds(), buffers + 1, 'one buffer for three tensors');
  x.dispose();
  f.dispose();
  assert.deepEqual(Array.from(await c.data()), [1.5, -2, 3.25, 4], 'the clone still reads its values after the others are gone');
  const i = tf.cast(c, 'int32');
  assert.notEqual(offset(i), offset(c), 'a cast that converts still makes its own buffer');
  assert.deepEqual(Array.from(await i.data()), [1, -2, 3, 4]);
  tf.dispose([c, i]);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(tf.engine().backend.numDataIds(), buffers, 'every buffer freed with its last tensor');
  // the backend's own kernels come back and copy
  uninstallSharedCopies();
  const y = tf.tensor1d([1, 2]);
  const yc = tf.clone(y);
  assert.notEqual(offset(yc), offset(y));
  tf.dispose([y, yc]);
  installSharedCopies();
});

/** Loss and gradients of a tiny model's mean loss on the active backend, as plain arrays. */
async function lossAndGrads(family: 'gpt2-tiny' | 'llama-tiny'): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  const cfg = { ...PRESETS[family]!, ...(family === 'gpt2-tiny' ? { nLayer: 2 } : { numHiddenLayers: 2 }) };
  const params: Record<string, tf.Tensor> = {};
  for (const [name, { shape, data }] of initArrays(cfg, 3)) params[name] = tf.tensor(data, shape, 'float32');
  const ids = Int32Array.from({ length: 2 * 17 }, (_, i) => (i * 37 + 11) % cfg.vocabSize);
  const inputs = tf.tensor2d(ids.slice(0, 32), [2, 16], 'int32');
  const targets = tf.tensor2d(ids.slice(2), [2, 16], 'int32');
  const names = Object.keys(params);
  const f = (...ts: tf.Tensor[]) => meanLoss(cfg, Object.fromEntries(names.map((n, i) => [n, ts[i]!])), inputs, targets);
  const { value, grads } = tf.valueAndGrads(f)(names.map((n) => params[n]!));
  const out: Record<string, Float32Array> = {};
  for (const [i, n] of names.entries()) out[n] = (await grads[i]!.data()) as Float32Array;
  const loss = (await value.data())[0]!;
  tf.dispose([value, ...grads, ...Object.values(params), inputs, targets]);
  return { loss, grads: out };
}

for (const family of ['gpt2-tiny', 'llama-tiny'] as const) {
  test(
    `${family}: loss and gradients on wasm with shared copies equal the cpu backend's; no tensor or buffer left`,
    { skip: !onWasm && 'wasm only' },
    async () => {
      await ensureGradients();
      await initBackend('cpu');
      const ref = await lossAndGrads(family);
      await initBackend('wasm');
      assert.ok(sharedCopiesInstalled());
      const tensors = tf.memory().numTensors;
      const buffers = tf.engine().backend.numDataIds();
      const got = await lossAndGrads(family);
      assert.equal(tf.memory().numTensors, tensors, 'no tensor left');
      assert.equal(tf.engine().backend.numDataIds(), buffers, 'no buffer left');
      assert.ok(Math.abs(got.loss - ref.loss) < 1e-5, `loss ${got.loss} vs ${ref.loss}`);
      assert.deepEqual(Object.keys(got.grads).sort(), Object.keys(ref.grads).sort());
      for (const [n, g] of Object.entries(ref.grads)) {
        const d = maxAbsDiff(got.grads[n]!, g);
        assert.ok(d < 1e-5, `${n}: max |wasm - cpu| = ${d}`);
      }
    },
  );
}
