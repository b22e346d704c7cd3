/** Logits of a model held as arrays, and the largest difference between two logit arrays. */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../electron/engine/models/config.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams } from '../../electron/engine/models/model.ts';
import { toParams } from '../growth/helpers.ts';

/** Logits [B, T, V] of `ids` (int32, [B, T]) as a flat array. */
export async function logitsOf(config: ModelConfig, arrays: Map<string, Float32Array>, ids: Int32Array, shape: [number, number]): Promise<Float32Array> {
  const p = toParams(config, arrays);
  const x = tf.tensor2d(ids, shape, 'int32');
  const { logits } = forward(config, p, x);
  const out = (await logits.data()) as Float32Array;
  tf.dispose([logits, x]);
  disposeParams(p);
  return out;
}

/** max |a[i] - b[i]| over i in [from, to). */
export function maxDiff(a: Float32Array, b: Float32Array, from = 0, to = a.length): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
