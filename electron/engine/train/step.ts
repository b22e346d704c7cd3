/**
 * One optimizer step: gradients of `meanLoss` over K micro-batches (gradient accumulation,
 * averaged), global-norm clipping, one AdamW update. This is the unit the benchmark times.
 * The step works on the optimizer's flat gradient (every parameter's entries back to back,
 * see adamw.ts), so accumulation, the norm and the clipping scale are a few kernels each;
 * the clipping scale stays on the device and the losses and the norm are read back once, at
 * the end, with the asynchronous `data()` (the WebGPU backend cannot read synchronously in Node).
 */
import * as tf from '@tensorflow/tfjs-core';
import { meanLoss } from '../eval/loss.ts';
import { maskedParams } from '../growth/mask.ts';
import type { ModelConfig } from '../models/config.ts';
import type { Params } from '../models/params.ts';
import type { AdamW } from './adamw.ts';
import type { Batch } from './batches.ts';

export type Variables = Record<string, tf.Variable>;

export interface StepResult {
  /** Mean training loss over the micro-batches, before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** Turns parameters into trainable variables (the input tensors are disposed). */
let variableSets = 0;

export function toVariables(params: Params): Variables {
  const vars: Variables = {};
  const id = ++variableSets; // variable names are global to the engine: keep each set's unique
  for (const [name, t] of Object.entries(params)) {
    vars[name] = tf.variable(t, true, `run${id}/${name}`);
    t.dispose();
  }
  return vars;
}

/**
 * Loss (scalar tensor) and gradients by parameter name of one micro-batch. With `multipliers`
 * (masked growth) the loss sees W * multiplier, so W's gradient is the multiplier times W_eff's.
 */
function batchGradients(
  cfg: ModelConfig,
  vars: Variables,
  b: Batch,
  multipliers?: Record<string, tf.Tensor>,
): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const names = Object.keys(vars);
  const { value, grads: byVarName } = tf.variableGrads(
    () => meanLoss(cfg, multipliers ? maskedParams(vars, multipliers) : vars, b.inputs, b.targets),
    names.map((n) => vars[n]!),
  );
  // variableGrads keys gradients by the variables' engine names; map back to parameter names
  const grads: Record<string, tf.Tensor> = {};
  for (const n of names) grads[n] = byVarName[vars[n]!.name]!;
  return { value, grads };
}

/** Reads scalar tensors back in one transfer (and disposes them). */
async function readScalars(scalars: tf.Tensor[]): Promise<Float32Array> {
  const all = tf.tidy(() => tf.concat(scalars.map((s) => tf.reshape(s, [1])))); // [n]
  tf.dispose(scalars);
  try {
    return (await all.data()) as Float32Array;
  } finally {
    all.dispose();
  }
}

/** Mean loss and averaged gradients over the micro-batches. Caller disposes the gradients. */
export async function accumulatedGradients(cfg: ModelConfig, vars: Variables, batches: Batch[]): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
  if (batches.length === 0) throw new Error('accumulatedGradients: no batches');
  const names = Object.keys(vars);
  let sum: Record<string, tf.Tensor> | undefined;
  const losses: tf.Tensor[] = [];
  for (const b of batches) {
    const { value, grads } = batchGradients(cfg, vars, b);
    losses.push(value);
    if (!sum) sum = grads;
    else {
      const prev: Record<string, tf.Tensor> = sum;
      sum = {};
      for (const n of names) sum[n] = tf.add(prev[n]!, grads[n]!);
      tf.dispose([...Object.values(prev), ...Object.values(grads)]);
    }
  }
  if (batches.length > 1) {
    const k = batches.length;
    const prev: Record<string, tf.Tensor> = sum!;
    sum = {};
    for (const n of names) sum[n] = tf.div(prev[n]!, k);
    tf.dispose(Object.values(prev));
  }
  let lossSum = 0;
  for (const l of await readScalars(losses)) lossSum += l;
  return { loss: lossSum / batches.length, grads: sum! };
}

/**
 * One training step on `batches` (one per accumulated micro-batch) at learning rate `lr`,
 * clipping the global gradient norm to `clip` (0 = off): every gradient is scaled by
 * min(1, clip / ||g||). Leaves no tensors behind. `optimizer` must be the AdamW over `vars`.
 * Call `await ensureGradients()` (gradients.ts) once before the first step. With `multipliers`
 * (masked growth: M + (1 - M) r by parameter name, not disposed) the loss is that of W_eff.
 */
export async function trainStep(
  cfg: ModelConfig,
  vars: Variables,
  optimizer: AdamW,
  batches: Batch[],
  lr: number,
  clip: number,
  multipliers?: Record<string, tf.Tensor>,
): Promise<StepResult> {
  if (batches.length === 0) throw new Error('trainStep: no batches');
  const losses: tf.Tensor[] = [];
  let sum: tf.Tensor | undefined; // [P], the optimizer's flat layout
  let norm: tf.Tensor | undefined;
  try {
    for (const b of batches) {
      const { value, grads } = batchGradients(cfg, vars, b, multipliers);
      losses.push(value);
      let flat: tf.Tensor1D;
      try {
        flat = optimizer.flatGradients(grads);
      } finally {
        tf.dispose(Object.values(grads));
      }
      const prev = sum;
      sum = prev ? tf.add(prev, flat) : flat;
      if (prev) tf.dispose([prev, flat]);
    }
    const k = batches.length;
    const total = sum!;
    const mean = k > 1 ? tf.div(total, k) : total; // [P]
    if (mean !== total) total.dispose();
    sum = mean;
    norm = tf.tidy(() => tf.sqrt(tf.sum(tf.square(mean)))); // []
    const n = norm;
    const g = clip > 0 && Number.isFinite(clip) ? tf.tidy(() => tf.mul(mean, tf.minimum(1, tf.div(tf.scalar(clip), n)))) : mean; // [P]
    try {
      optimizer.applyFlat(g as tf.Tensor1D, lr);
    } finally {
      if (g !== mean) g.dispose();
    }
  } catch (e) {
    tf.dispose([...losses, ...(sum ? [sum] : []), ...(norm ? [norm] : [])]);
    throw e;
  }
  sum.dispose();
  const read = await readScalars([...losses, norm]);
  let lossSum = 0;
  for (let i = 0; i < batches.length; i++) lossSum += read[i]!;
  return { loss: lossSum / batches.length, gradNorm: read[batches.length]! };
}
