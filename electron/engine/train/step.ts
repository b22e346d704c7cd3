/**
 * One optimizer step: gradients of `meanLoss` over K micro-batches (gradient accumulation,
 * averaged), global-norm clipping, one AdamW update. This is the unit the benchmark times.
 */
import * as tf from '@tensorflow/tfjs-core';
import { meanLoss } from '../eval/loss.ts';
import type { ModelConfig } from '../models/config.ts';
import type { Params } from '../models/params.ts';
import type { AdamW } from './adamw.ts';
import type { Batch } from './batches.ts';
import { clipByGlobalNorm } from './clip.ts';

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

/** Mean loss and averaged gradients over the micro-batches. Caller disposes the gradients. */
export function accumulatedGradients(cfg: ModelConfig, vars: Variables, batches: Batch[]): { loss: number; grads: Record<string, tf.Tensor> } {
  const names = Object.keys(vars);
  const varList = names.map((n) => vars[n]!);
  let sum: Record<string, tf.Tensor> | undefined;
  let lossSum = 0;
  for (const b of batches) {
    const { value, grads: byVarName } = tf.variableGrads(() => meanLoss(cfg, vars, b.inputs, b.targets), varList);
    // variableGrads keys gradients by the variables' engine names; map back to parameter names
    const grads: Record<string, tf.Tensor> = {};
    for (const n of names) grads[n] = byVarName[vars[n]!.name]!;
    lossSum += value.dataSync()[0]!;
    value.dispose();
    if (!sum) sum = grads;
    else {
      const prev: Record<string, tf.Tensor> = sum;
      sum = {};
      for (const n of names) {
        sum[n] = tf.add(prev[n]!, grads[n]!);
        prev[n]!.dispose();
        grads[n]!.dispose();
      }
    }
  }
  if (!sum) throw new Error('accumulatedGradients: no batches');
  if (batches.length > 1) {
    const k = batches.length;
    const prev: Record<string, tf.Tensor> = sum;
    sum = {};
    for (const n of names) {
      sum[n] = tf.div(prev[n]!, k);
      prev[n]!.dispose();
    }
  }
  return { loss: lossSum / batches.length, grads: sum };
}

/**
 * One training step on `batches` (one per accumulated micro-batch) at learning rate `lr`,
 * clipping the global gradient norm to `clip` (0 = off). Leaves no tensors behind.
 * Call `await ensureGradients()` (gradients.ts) once before the first step.
 */
export function trainStep(cfg: ModelConfig, vars: Variables, optimizer: AdamW, batches: Batch[], lr: number, clip: number): StepResult {
  const { loss, grads } = accumulatedGradients(cfg, vars, batches);
  const clipped = clipByGlobalNorm(grads, clip);
  for (const g of Object.values(grads)) g.dispose();
  try {
    optimizer.apply(clipped.grads, lr);
  } finally {
    for (const g of Object.values(clipped.grads)) g.dispose();
  }
  return { loss, gradNorm: clipped.norm };
}
