/**
 * The loss of one micro-batch and its gradients by parameter name, the one place the training
 * step (step.ts), the compute threads (parallel/slice.ts) and the moment estimate take them:
 * plain back-propagation through the whole recorded pass, or with `recompute` the activations
 * recomputed block by block (recompute.ts). Either way the head and loss run in token chunks
 * (eval/head-loss.ts) where the family has stages.
 */
import * as tf from '@tensorflow/tfjs-core';
import { meanLoss } from '../eval/loss.ts';
import { maskedParams } from '../growth/mask.ts';
import type { ModelConfig } from '../models/config.ts';
import { recomputeGradients } from './recompute.ts';

export interface GradientOptions {
  /** Recompute each block's activations in the backward pass instead of keeping them (--recompute). */
  recompute?: boolean;
  /** Tokens per chunk of the head and loss (default: head-loss.ts's headChunkRows). */
  headRows?: number;
  /** Mixed precision (loss-scale.ts): the loss is multiplied by this before the backward pass (not with `recompute`). */
  lossScale?: number;
}

/**
 * Loss (scalar tensor) and gradients by parameter name of the micro-batch `inputs` -> `targets`
 * [B, T]. With `multipliers` (masked growth) the loss sees W * multiplier, so W's gradient is
 * the multiplier times W_eff's. The caller disposes the value and the gradients.
 */
export function lossGradients(
  cfg: ModelConfig,
  vars: Record<string, tf.Variable>,
  inputs: tf.Tensor2D,
  targets: tf.Tensor2D,
  multipliers?: Record<string, tf.Tensor>,
  o: GradientOptions = {},
): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const names = Object.keys(vars);
  if (o.recompute && o.lossScale !== undefined) throw new Error('lossGradients: loss scaling with recompute is not implemented');
  if (!o.recompute) {
    const { value, grads: byVarName } = tf.variableGrads(
      () => {
        const loss = meanLoss(cfg, multipliers ? maskedParams(vars, multipliers) : vars, inputs, targets, o.headRows);
        return o.lossScale === undefined ? loss : tf.mul(loss, o.lossScale);
      },
      names.map((n) => vars[n]!),
    );
    // variableGrads keys gradients by the variables' engine names; map back to parameter names
    const grads: Record<string, tf.Tensor> = {};
    for (const n of names) grads[n] = byVarName[vars[n]!.name]!;
    return { value, grads };
  }
  if (!multipliers) return recomputeGradients(cfg, vars, names, inputs, targets, o.headRows);
  const effective = maskedParams(vars, multipliers); // W_eff: new tensors for the masked names
  try {
    const r = recomputeGradients(cfg, effective, names, inputs, targets, o.headRows);
    for (const [n, m] of Object.entries(multipliers)) {
      const g = r.grads[n]!;
      r.grads[n] = tf.mul(g, m); // dL/dW = dL/dW_eff * multiplier
      g.dispose();
    }
    return r;
  } finally {
    for (const n of Object.keys(multipliers)) effective[n]!.dispose();
  }
}
