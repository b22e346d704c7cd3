/** Comparing tensors by name in tests. */
import type * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';

/** The largest |a - b| over every entry of every tensor of `a` (matched by name in `b`). */
export async function maxDiff(a: Record<string, tf.Tensor>, b: Record<string, tf.Tensor>): Promise<number> {
  let worst = 0;
  for (const name of Object.keys(a)) {
    const x = await a[name]!.data();
    const y = await b[name]!.data();
    assert.equal(x.length, y.length, name);
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  }
  return worst;
}
