/**
 * Training batches: `batch` random windows of ctx + 1 consecutive tokens, inputs the first
 * ctx and targets the last ctx. Window starts come from the run's Rng alone, so saving the
 * Rng state saves the data position.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ScionError } from '../errors.ts';
import type { Rng } from '../rng.ts';

export interface Batch {
  inputs: tf.Tensor2D; // [B, T]
  targets: tf.Tensor2D; // [B, T]
}

/** Window start offsets for one batch (consumes `batch` draws from `rng`). */
export function sampleStarts(rng: Rng, tokens: number, ctx: number, batch: number): number[] {
  const span = tokens - (ctx + 1) + 1;
  if (span < 1) throw new ScionError(`the training data has ${tokens} tokens, fewer than one window of ctx + 1 = ${ctx + 1}`, 'E_DATASET');
  const starts: number[] = [];
  for (let i = 0; i < batch; i++) starts.push(rng.int(span));
  return starts;
}

export function batchFromStarts(ids: Uint32Array, starts: number[], ctx: number): Batch {
  const b = starts.length;
  const inp = new Int32Array(b * ctx);
  const tgt = new Int32Array(b * ctx);
  starts.forEach((s, w) => {
    for (let j = 0; j < ctx; j++) {
      inp[w * ctx + j] = ids[s + j]!;
      tgt[w * ctx + j] = ids[s + j + 1]!;
    }
  });
  return { inputs: tf.tensor2d(inp, [b, ctx], 'int32'), targets: tf.tensor2d(tgt, [b, ctx], 'int32') };
}

export function sampleBatch(rng: Rng, ids: Uint32Array, ctx: number, batch: number): Batch {
  return batchFromStarts(ids, sampleStarts(rng, ids.length, ctx, batch), ctx);
}

export function disposeBatch(b: Batch): void {
  b.inputs.dispose();
  b.targets.dispose();
}
