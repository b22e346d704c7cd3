/**
 * The work one thread does on its share of a step or an evaluation, the same code in the
 * training process (rank 0) and in every compute thread: gradients of the mean loss over
 * its rows, in chunks of at most one micro-batch so memory stays that of one micro-batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { lossAndCorrect } from '../../eval/loss.ts';
import type { ModelConfig } from '../../models/config.ts';
import type { Params } from '../../models/params.ts';
import { type GradientOptions, lossGradients } from '../loss-gradients.ts';
import type { Variables } from '../step.ts';
import { copyAllOut } from './heap.ts';
import type { Rows } from './protocol.ts';

function rowTensors(c: Rows): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  return { inputs: tf.tensor2d(c.inputs, [c.rows, c.ctx], 'int32'), targets: tf.tensor2d(c.targets, [c.rows, c.ctx], 'int32') };
}

export function rowCount(chunks: readonly Rows[]): number {
  return chunks.reduce((a, c) => a + c.rows, 0);
}

/**
 * The mean-loss gradient over all rows of `chunks`, written into `into` (the pool's flat layout,
 * `layout` order), and the summed loss (rows x mean loss of each chunk). With one chunk this is
 * exactly that chunk's gradient; with several, their row-weighted mean (summed by parameter).
 */
export async function sliceGradient(
  cfg: ModelConfig,
  vars: Variables,
  layout: readonly { name: string; size: number }[],
  chunks: readonly Rows[],
  into: Float32Array,
  multipliers?: Record<string, tf.Tensor>,
  o: GradientOptions = {},
): Promise<number> {
  const total = rowCount(chunks);
  const names = layout.map((l) => l.name);
  let acc: Record<string, tf.Tensor> | undefined; // by parameter name, the parameters' shapes
  let lossSum = 0;
  try {
    for (const c of chunks) {
      const { inputs, targets } = rowTensors(c);
      let value: tf.Scalar;
      let grads: Record<string, tf.Tensor>;
      try {
        ({ value, grads } = lossGradients(cfg, vars, inputs, targets, multipliers, o));
      } finally {
        tf.dispose([inputs, targets]);
      }
      const w = c.rows / total;
      const prev = acc;
      acc = {};
      for (const n of names) {
        const g = grads[n]!;
        acc[n] = chunks.length === 1 ? g : tf.tidy(() => (prev ? tf.add(prev[n]!, tf.mul(g, w)) : tf.mul(g, w)));
      }
      if (chunks.length > 1) tf.dispose([...Object.values(grads), ...(prev ? Object.values(prev) : [])]);
      lossSum += c.rows * (await value.data())[0]!;
      value.dispose();
    }
    copyAllOut(layout, acc!, into, 'gradient');
  } finally {
    if (acc) tf.dispose(Object.values(acc));
  }
  return lossSum;
}

/** Summed loss (in all and per row, in order) and top-1 hits over the rows of `chunks` (evaluation, no gradient). */
export async function sliceLoss(
  cfg: ModelConfig,
  params: Params,
  chunks: readonly Rows[],
): Promise<{ lossSum: number; correct: number; rowLossSums: number[] }> {
  let lossSum = 0;
  let correct = 0;
  const rowLossSums: number[] = [];
  for (const c of chunks) {
    const { inputs, targets } = rowTensors(c);
    try {
      const r = await lossAndCorrect(cfg, params, inputs, targets);
      lossSum += r.lossSum;
      correct += r.correct;
      rowLossSums.push(...r.rowLossSums);
    } finally {
      tf.dispose([inputs, targets]);
    }
  }
  return { lossSum, correct, rowLossSums };
}
