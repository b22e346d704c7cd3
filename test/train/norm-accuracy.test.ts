/**
 * The gradient norm (logged, and what clipping divides by) within 1e-5 relative of a float64
 * sum, on the active backend (SCION_BACKEND; wasm by default). A flat float32 sum of squares
 * lost 0.3-2.5% on wasm at 1-25M parameters; here 4M entries and a real model's gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { PRESETS } from '../../electron/engine/models/config.ts';
import { AdamW, DEFAULT_ADAMW } from '../../electron/engine/train/adamw.ts';
import { batchFromStarts, disposeBatch } from '../../electron/engine/train/batches.ts';
import { clipByGlobalNorm } from '../../electron/engine/train/clip.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { initParams } from '../../electron/engine/train/init.ts';
import { accumulatedGradients, toVariables, trainStep } from '../../electron/engine/train/step.ts';

before(async () => {
  await initBackend();
  await ensureGradients();
});

/** The L2 norm of every entry, summed in float64 on the CPU. */
async function norm64(tensors: tf.Tensor[]): Promise<number> {
  let s = 0;
  for (const t of tensors) for (const x of await t.data()) s += x * x;
  return Math.sqrt(s);
}

test('the clipping norm of 4M gradient entries is within 1e-5 of a float64 sum', async () => {
  const grads: Record<string, tf.Tensor> = {
    big: tf.randomUniform([2048, 1536], 0.5, 1.5, 'float32', 1), // all positive: float32 sums drift the most
    odd: tf.randomNormal([997, 1031], 0, 1, 'float32', 2), // no divisor of the size up to 64 but 1
    bias: tf.randomNormal([7], 0, 1, 'float32', 3),
  };
  const want = await norm64(Object.values(grads));
  const before = tf.memory().numTensors;
  const { grads: clipped, norm } = await clipByGlobalNorm(grads, 1);
  tf.dispose(Object.values(clipped));
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.ok(Math.abs(norm - want) / want <= 1e-5, `norm ${norm} vs float64 ${want}: ${Math.abs(norm - want) / want} relative`);
  tf.dispose(Object.values(grads));
});

test("a training step's logged gradient norm is within 1e-5 of a float64 sum of its gradients", async () => {
  const cfg = PRESETS['gpt2-tiny']!; // 0.8M parameters
  const vars = toVariables(initParams(cfg, 5));
  const ids = Uint32Array.from({ length: 600 }, (_, i) => (i * 31 + (i >> 2)) % cfg.vocabSize);
  const batches = [batchFromStarts(ids, [0, 100], 32), batchFromStarts(ids, [7, 150], 32)];
  const { grads } = await accumulatedGradients(cfg, vars, batches);
  const want = await norm64(Object.values(grads));
  tf.dispose(Object.values(grads));
  const opt = new AdamW(vars, DEFAULT_ADAMW);
  const { gradNorm } = await trainStep(cfg, vars, opt, batches, 1e-3, 1);
  assert.ok(Math.abs(gradNorm - want) / want <= 1e-5, `logged norm ${gradNorm} vs float64 ${want}: ${Math.abs(gradNorm - want) / want} relative`);
  batches.forEach(disposeBatch);
  opt.dispose();
  tf.dispose(Object.values(vars));
});
