/**
 * The training check every family's tests run on wasm: one batch of 4 x 16 tokens gives every
 * tensor a finite gradient (non-zero where `nonZero` matches), six AdamW steps at lr 1e-2 lower
 * the loss by more than 0.1, and nothing leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import type { ModelConfig } from '../../electron/engine/models/config.ts';
import { tensorSpecs } from '../../electron/engine/models/family.ts';
import { AdamW } from '../../electron/engine/train/adamw.ts';
import { batchFromStarts, disposeBatch } from '../../electron/engine/train/batches.ts';
import { accumulatedGradients, toVariables, trainStep } from '../../electron/engine/train/step.ts';
import { toParams } from '../growth/helpers.ts';

/**
 * One batch of 4 windows of 16 tokens below `vocab`: every tensor's gradient is finite, those
 * named by `nonZero` (default: all) are not all zero, and 6 AdamW steps at lr 1e-2 lower the loss by 0.1.
 */
export async function checkTrains(config: ModelConfig, arrays: Map<string, Float32Array>, vocab: number, nonZero = /(?:)/): Promise<void> {
  const ids = Uint32Array.from({ length: 400 }, (_, i) => (i * 7 + (i % 5) * 31) % vocab);
  const before = tf.memory().numTensors;
  const batch = batchFromStarts(ids, [0, 40, 90, 200], 16);
  const vars = toVariables(toParams(config, arrays));
  const { grads } = await accumulatedGradients(config, vars, [batch]);
  for (const spec of tensorSpecs(config)) {
    const g = (await grads[spec.name]!.data()) as Float32Array;
    assert.ok(g.every(Number.isFinite), `${spec.name}: finite gradient`);
    if (nonZero.test(spec.name))
      assert.ok(
        g.some((x) => x !== 0),
        `${spec.name}: non-zero gradient`,
      );
  }
  tf.dispose(Object.values(grads));
  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) losses.push((await trainStep(config, vars, opt, [batch], 1e-2, 1)).loss);
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[5]! < losses[0]! - 0.1, `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  opt.dispose();
  tf.dispose(Object.values(vars));
  disposeBatch(batch);
  assert.equal(tf.memory().numTensors, before, 'training leaked tensors');
}
