/** Next-token cross-entropy and accuracy, shared by evaluation and training. */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../models/config.ts';
import { decoderStages, forward } from '../models/family.ts';
import { pickLabels } from '../models/layers.ts';
import { type Params, param } from '../models/params.ts';
import type { DecoderStages } from '../models/stages.ts';
import { chunkedHeadNll, headChunkRows } from './head-loss.ts';
import { nllRows as webgpuNllRows, webgpuKernelsOn } from '../webgpu/ops.ts';

/** -log softmax(logits)[label] per row: logits [N, V], labels [N]. Returns [N]. */
export function nllRows(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  if (webgpuKernelsOn()) return webgpuNllRows(logits, labels);
  return tf.neg(pickLabels(tf.logSoftmax(logits) as tf.Tensor2D, labels));
}

/**
 * Mean cross-entropy of predicting `targets` [B, T] from `inputs` [B, T] (targets are the
 * inputs shifted by one). Differentiable on every backend. Where the family has stages
 * (models/stages.ts) and WebGPU's fused kernels are off, the head and loss run `headRows`
 * tokens at a time (head-loss.ts): the logits of the whole batch are never held.
 */
export function meanLoss(cfg: ModelConfig, p: Params, inputs: tf.Tensor2D, targets: tf.Tensor2D, headRows?: number): tf.Scalar {
  return tf.tidy(() => {
    const labels = tf.reshape(targets, [-1]) as tf.Tensor1D; // [B*T]
    const st = webgpuKernelsOn() ? undefined : decoderStages(cfg, p, inputs);
    if (!st) {
      const { logits } = forward(cfg, p, inputs); // [B, T, V]
      const [b, t, v] = logits.shape;
      return tf.mean(nllRows(tf.reshape(logits, [b * t, v]) as tf.Tensor2D, labels)) as tf.Scalar; // mean of [B*T]
    }
    let x = st.embed(); // [B*T, D]
    for (let i = 0; i < st.layers; i++) x = st.block(i, x);
    return stagesHeadLoss(st, p, x, labels, headRows);
  });
}

/** The mean loss of the stages' final norm and chunked head on the last block's output x [B*T, D] against `labels` [B*T]. */
export function stagesHeadLoss(st: DecoderStages, p: Params, x: tf.Tensor2D, labels: tf.Tensor1D, headRows?: number): tf.Scalar {
  return tf.tidy(() => {
    const w = param(p, st.head) as tf.Tensor2D; // [V, D]
    return tf.mean(chunkedHeadNll(st.final(x), w, labels, headRows ?? headChunkRows(w.shape[0]))) as tf.Scalar; // mean of [B*T]
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
