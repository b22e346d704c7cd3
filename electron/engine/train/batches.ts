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

/**
 * How training reads its data: 'random' windows (the run's Rng), or 'sequential': batch j holds
 * windows j * batch ... j * batch + batch - 1, window i starting at token i * ctx, so every
 * token is predicted exactly once, no window is ever revisited, and every run with the same
 * data, batch and context reads the same tokens in the same order.
 */
export type SamplerKind = 'random' | 'sequential';
export const SAMPLERS: readonly SamplerKind[] = ['random', 'sequential'];

/** Tokens a sequential run of `batches` batches reads (the last window's extra target token included). */
export function sequentialTokensNeeded(batches: number, ctx: number, batch: number): number {
  return batches * batch * ctx + 1;
}

/** Throws, naming the data, when a sequential run of `o.steps` steps would read past the end of its `tokens` training tokens. */
export function checkSequentialData(
  o: { data: string; steps: number; gradAccum: number; batch: number; ctx: number; sampler?: SamplerKind },
  tokens: number,
): void {
  const needed = sequentialTokensNeeded(o.steps * o.gradAccum, o.ctx, o.batch);
  if (o.sampler === 'sequential' && needed > tokens)
    throw new ScionError(
      `${o.data}: ${tokens} tokens, but ${o.steps} steps of ${o.gradAccum} x ${o.batch} x ${o.ctx} tokens read sequentially need ${needed}: the run would repeat data (use fewer steps or more data)`,
      'E_DATASET',
      o.data,
    );
}

/** Window starts of the sequential sampler's batch `index` (0-based); throws when the data would run out. */
export function sequentialStarts(index: number, tokens: number, ctx: number, batch: number): number[] {
  const need = sequentialTokensNeeded(index + 1, ctx, batch);
  if (need > tokens)
    throw new ScionError(
      `the sequential sampler needs ${need} tokens for batch ${index + 1} but the training data has ${tokens}: the run would repeat data (use fewer steps or more data)`,
      'E_DATASET',
    );
  const starts: number[] = [];
  for (let w = 0; w < batch; w++) starts.push((index * batch + w) * ctx);
  return starts;
}

export function disposeBatch(b: Batch): void {
  b.inputs.dispose();
  b.targets.dispose();
}
