/**
 * One optimizer step: gradients of `meanLoss` over K micro-batches (gradient accumulation,
 * averaged), global-norm clipping, one AdamW update. This is the unit the benchmark times.
 * The gradients stay by parameter (one copy); the optimizer concatenates them group by group
 * (see adamw.ts). The losses and the norm's partial sums are read back once, before the
 * update, with the asynchronous `data()` (the WebGPU backend cannot read synchronously in Node).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../models/config.ts';
import type { Params } from '../models/params.ts';
import type { AdamW } from './adamw.ts';
import type { Batch } from './batches.ts';
import { clipScale, squarePartials, sumPartials } from './clip.ts';
import { type GradientOptions, lossGradients } from './loss-gradients.ts';

export type Variables = Record<string, tf.Variable>;

export interface StepResult {
  /** Mean training loss over the micro-batches, before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Loss scaling only (train/loss-scale.ts): the gradients held inf/NaN, so no update was applied. */
  skipped?: boolean;
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

/** Reads tensors back in one transfer, flattened one after the other (and disposes them). */
async function readScalars(scalars: tf.Tensor[]): Promise<Float32Array> {
  const all = tf.tidy(() => tf.concat(scalars.map((s) => tf.reshape(s, [-1])))); // [n]
  tf.dispose(scalars);
  try {
    return (await all.data()) as Float32Array;
  } finally {
    all.dispose();
  }
}

/** Mean loss and averaged gradients over the micro-batches. Caller disposes the gradients. */
export async function accumulatedGradients(
  cfg: ModelConfig,
  vars: Variables,
  batches: Batch[],
  o: GradientOptions = {},
): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
  if (batches.length === 0) throw new Error('accumulatedGradients: no batches');
  const names = Object.keys(vars);
  let sum: Record<string, tf.Tensor> | undefined;
  const losses: tf.Tensor[] = [];
  for (const b of batches) {
    const { value, grads } = lossGradients(cfg, vars, b.inputs, b.targets, undefined, o);
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

/** Sums `add` into `into` name by name, disposing both sides' old tensors (one parameter's size at a time). */
function addInto(into: Record<string, tf.Tensor>, add: Record<string, tf.Tensor>): void {
  for (const n of Object.keys(into)) {
    const s = tf.add(into[n]!, add[n]!);
    tf.dispose([into[n]!, add[n]!]);
    into[n] = s;
  }
}

/**
 * One training step on `batches` (one per accumulated micro-batch) at learning rate `lr`,
 * clipping the global gradient norm to `clip` (0 = off): every gradient is scaled by
 * min(1, clip / ||g||). Leaves no tensors behind. `optimizer` must be the AdamW over `vars`.
 * Call `await ensureGradients()` (gradients.ts) once before the first step. With `multipliers`
 * (masked growth: M + (1 - M) r by parameter name, not disposed) the loss is that of W_eff.
 * Memory: the gradients by parameter (one copy, summed in place over micro-batches) and the
 * optimizer's per-group temporaries; the norm is summed accurately (clip.ts) and read back
 * with the losses in one transfer, and the clipping factor multiplies each group's gradient
 * inside the update. `o.recompute`: activations recomputed block by block (recompute.ts).
 * With `o.lossScale` (mixed precision, loss-scale.ts) the loss is scaled before the backward
 * pass, the loss and norm read back are unscaled, the factor divides the scale out, and
 * gradients with inf/NaN skip the update (`skipped`).
 */
export async function trainStep(
  cfg: ModelConfig,
  vars: Variables,
  optimizer: AdamW,
  batches: Batch[],
  lr: number,
  clip: number,
  multipliers?: Record<string, tf.Tensor>,
  o: GradientOptions = {},
): Promise<StepResult> {
  if (batches.length === 0) throw new Error('trainStep: no batches');
  optimizer.releaseNamed(); // a checkpoint's copy of the moments must not sit beside the activations
  const losses: tf.Tensor[] = [];
  let sum: Record<string, tf.Tensor> | undefined; // by parameter name, the parameters' shapes
  try {
    for (const b of batches) {
      const { value, grads } = lossGradients(cfg, vars, b.inputs, b.targets, multipliers, o);
      losses.push(value);
      if (!sum) sum = grads;
      else addInto(sum, grads);
    }
    const k = batches.length;
    if (k > 1)
      for (const n of Object.keys(sum!)) {
        const total = sum![n]!;
        sum![n] = tf.div(total, k);
        total.dispose();
      }
    const partials = squarePartials(Object.values(sum!)); // [Q]
    const read = await readScalars([...losses, partials]);
    losses.length = 0;
    let lossSum = 0;
    for (let i = 0; i < k; i++) lossSum += read[i]!;
    const scale = o.lossScale ?? 1;
    const gradNorm = Math.sqrt(sumPartials(read.subarray(k))) / scale;
    const loss = lossSum / k / scale;
    if (o.lossScale !== undefined && !Number.isFinite(gradNorm)) return { loss, gradNorm, skipped: true };
    optimizer.apply(sum!, lr, clipScale(gradNorm, clip) / scale);
    return { loss, gradNorm };
  } finally {
    tf.dispose([...losses, ...(sum ? Object.values(sum) : [])]);
  }
}
