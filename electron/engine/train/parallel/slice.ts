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
import type { Rows } from './protocol.ts';

/** `tensors` (one per name, in `names` order) flattened and concatenated: the pool's flat layout [P]. */
export function flatConcat(names: readonly string[], tensors: Record<string, tf.Tensor>, what: string): tf.Tensor1D {
  return tf.tidy(() => {
    const parts = names.map((n) => {
      const t = tensors[n];
      if (!t) throw new Error(`no ${what} for parameter '${n}'`);
      return t.rank === 1 ? t : tf.reshape(t, [-1]);
    });
    return (parts.length === 1 ? tf.clone(parts[0]!) : tf.concat(parts)) as tf.Tensor1D; // [P]
  });
}

function rowTensors(c: Rows): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  return { inputs: tf.tensor2d(c.inputs, [c.rows, c.ctx], 'int32'), targets: tf.tensor2d(c.targets, [c.rows, c.ctx], 'int32') };
}

export function rowCount(chunks: readonly Rows[]): number {
  return chunks.reduce((a, c) => a + c.rows, 0);
}

/**
 * The mean-loss gradient over all rows of `chunks` in the flat layout of `names` ([P]; the
 * caller disposes it) and the summed loss (rows x mean loss of each chunk). With one chunk
 * this is exactly that chunk's gradient; with several, their row-weighted mean.
 */
export async function sliceGradient(
  cfg: ModelConfig,
  vars: Variables,
  names: readonly string[],
  chunks: readonly Rows[],
  multipliers?: Record<string, tf.Tensor>,
  o: GradientOptions = {},
): Promise<{ flat: tf.Tensor1D; lossSum: number }> {
  const total = rowCount(chunks);
  let acc: tf.Tensor1D | undefined;
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
      const flat = tf.tidy(() => {
        const g = flatConcat(names, grads, 'gradient'); // [P]
        return chunks.length === 1 ? g : (tf.mul(g, w) as tf.Tensor1D);
      });
      tf.dispose(Object.values(grads));
      const prev = acc;
      acc = prev ? (tf.add(prev, flat) as tf.Tensor1D) : flat;
      if (prev) tf.dispose([prev, flat]);
      lossSum += c.rows * (await value.data())[0]!;
      value.dispose();
    }
  } catch (e) {
    acc?.dispose();
    throw e;
  }
  return { flat: acc!, lossSum };
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
