/** Next-token cross-entropy and accuracy, shared by evaluation and training. */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../models/config.ts';
import { forward } from '../models/family.ts';
import { pickLabels } from '../models/layers.ts';
import type { Params } from '../models/params.ts';
import { nllRows as webgpuNllRows, webgpuKernelsOn } from '../webgpu/ops.ts';

/** -log softmax(logits)[label] per row: logits [N, V], labels [N]. Returns [N]. */
export function nllRows(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  if (webgpuKernelsOn()) return webgpuNllRows(logits, labels);
  return tf.neg(pickLabels(tf.logSoftmax(logits) as tf.Tensor2D, labels));
}

/**
 * Mean cross-entropy of predicting `targets` [B, T] from `inputs` [B, T] (targets are the
 * inputs shifted by one). Differentiable on every backend.
 */
export function meanLoss(cfg: ModelConfig, p: Params, inputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const { logits } = forward(cfg, p, inputs); // [B, T, V]
    const [b, t, v] = logits.shape;
    return tf.mean(nllRows(tf.reshape(logits, [b * t, v]) as tf.Tensor2D, tf.reshape(targets, [-1]) as tf.Tensor1D)) as tf.Scalar; // mean of [B*T]
  });
}

/** Summed loss (in all and per row of the batch) and number of correct top-1 predictions, for evaluation (no gradient). */
export async function lossAndCorrect(
  cfg: ModelConfig,
  p: Params,
  inputs: tf.Tensor2D,
  targets: tf.Tensor2D,
): Promise<{ lossSum: number; correct: number; rowLossSums: Float32Array }> {
  const [rows, correct] = tf.tidy(() => {
    const { logits } = forward(cfg, p, inputs); // [B, T, V]
    const [b, t, v] = logits.shape;
    const flat = tf.reshape(logits, [b * t, v]) as tf.Tensor2D;
    const labels = tf.reshape(targets, [-1]) as tf.Tensor1D;
    const perRow = tf.sum(tf.reshape(nllRows(flat, labels), [b, t]), 1); // [B]
    const hits = tf.sum(tf.cast(tf.equal(tf.argMax(flat, 1), labels), 'float32'));
    return [perRow, hits];
  });
  const rowLossSums = (await rows.data()) as Float32Array;
  const out = { lossSum: rowLossSums.reduce((a, x) => a + x, 0), correct: (await correct.data())[0]!, rowLossSums };
  rows.dispose();
  correct.dispose();
  return out;
}
