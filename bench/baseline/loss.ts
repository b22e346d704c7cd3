/**
 * The mean next-token loss through the forward code as it was before the speed work
 * (commit 8b5a60f), so `npm run bench` can time "before" and "after" in one run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type ModelConfig, isLlamaShaped } from '../../electron/engine/models/config.ts';
import type { Params } from '../../electron/engine/models/params.ts';
import { pickLabels } from '../../electron/engine/models/layers.ts';
import { gpt2Forward } from './gpt2.ts';
import { llamaForward } from './llama.ts';

export function baselineMeanLoss(cfg: ModelConfig, p: Params, inputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  if (cfg.family !== 'gpt2' && !isLlamaShaped(cfg)) throw new Error(`the baseline forward has no ${cfg.family} model`);
  return tf.tidy(() => {
    const { logits } = cfg.family === 'gpt2' ? gpt2Forward(cfg, p, inputs) : llamaForward(cfg, p, inputs); // [B, T, V]
    const [b, t, v] = logits.shape;
    const logp = tf.logSoftmax(tf.reshape(logits, [b * t, v])) as tf.Tensor2D; // [B*T, V]
    return tf.neg(tf.mean(pickLabels(logp, tf.reshape(targets, [-1]) as tf.Tensor1D))) as tf.Scalar;
  });
}
