/**
 * One optimizer step over the thread pool, equal (up to float rounding) to train/step.ts's
 * `trainStep` on the same micro-batches, in three rounds in which every rank works:
 *   1. gradients: the step's K x B rows split into one contiguous share per rank, each rank's
 *      mean-loss gradient of its share (in chunks of at most one micro-batch) into its shared
 *      gradient buffer;
 *   2. all-reduce: each rank sums its slice of the layout over the ranks' buffers, weighted by
 *      their row counts (= gradient accumulation's mean, every row having ctx tokens), and
 *      answers the slice's sum of squares; rank 0 adds them up in rank order (the global norm);
 *   3. update: each rank applies AdamW (clipped by the norm) to its slice of the shared
 *      parameters and moments (slice-math.ts); without clipping this is part of round 2.
 * Then rank 0's variables are assigned from the shared parameters.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../models/config.ts';
import type { AdamW } from '../adamw.ts';
import { clipScale } from '../clip.ts';
import type { StepResult, Variables } from '../step.ts';
import { addPhases, NO_CLOCK, PhaseClock, type PhaseTimes } from './phases.ts';
import { splitEvenly, type ThreadPool } from './pool.ts';
import type { Rows, SentTensor } from './protocol.ts';
import { takeState, updatedParams } from './shared-state.ts';
import { sliceGradient } from './slice.ts';
import type { AdamWSlice } from './slice-math.ts';

/** Rows `[from, to)` of the windows starting at `starts` (each ctx + 1 tokens of `ids`), in chunks of at most `chunk` rows. */
export function windowRows(ids: Uint32Array, starts: readonly number[], ctx: number, from: number, to: number, chunk: number): Rows[] {
  const out: Rows[] = [];
  for (let a = from; a < to; a += chunk) {
    const rows = Math.min(chunk, to - a);
    const inputs = new Int32Array(rows * ctx);
    const targets = new Int32Array(rows * ctx);
    for (let w = 0; w < rows; w++) {
      const s = starts[a + w]!;
      for (let j = 0; j < ctx; j++) {
        inputs[w * ctx + j] = ids[s + j]!;
        targets[w * ctx + j] = ids[s + j + 1]!;
      }
    }
    out.push({ inputs, targets, rows, ctx });
  }
  return out;
}

async function sent(multipliers: Record<string, tf.Tensor> | undefined): Promise<Record<string, SentTensor> | undefined> {
  if (!multipliers) return undefined;
  const out: Record<string, SentTensor> = {};
  for (const [name, t] of Object.entries(multipliers)) out[name] = { data: (await t.data()) as Float32Array, shape: t.shape };
  return out;
}

/** What one step works on: the model, its variables and optimizer (in this process), the data and the hyper-parameters. */
export interface StepInputs {
  cfg: ModelConfig;
  vars: Variables;
  optimizer: AdamW;
  /** Window starts of the K micro-batches (B each, as `sampleStarts` drew them) in `ids`, the training tokens. */
  starts: readonly number[][];
  ids: Uint32Array;
  ctx: number;
  lr: number;
  clip: number;
  /** Masked growth's multipliers (not disposed). */
  multipliers?: Record<string, tf.Tensor>;
  /** Recompute each block's activations in the backward pass (train/recompute.ts). */
  recompute?: boolean;
  /** Mixed precision's loss scale (train/loss-scale.ts; WebGPU only, so never on the pool). */
  lossScale?: number;
}

/** Rank 0's part of round 2 (and of round 3 with `update`): its slice of the all-reduce; returns the slice's sum of squares. */
export function ownReduce(pool: ThreadPool, weights: number[], update?: AdamWSlice): number {
  const [lo, hi] = pool.slices[0]!;
  const { grads } = pool.shared;
  const squares = pool.math.reduce(grads[0]!, grads.slice(0, weights.length), weights, lo, hi);
  if (update) pool.math.adamw(update, { ...pool.shared, g: grads[0]! }, pool.segments, lo, hi);
  return squares;
}

/** One training step on the pool (see the file comment); the threads read the parameters from the pool. */
export async function parallelTrainStep(pool: ThreadPool, s: StepInputs): Promise<StepResult> {
  const { cfg, vars, optimizer, starts, ids, ctx, lr, clip, multipliers } = s;
  const recompute = s.recompute === true;
  const clock = pool.profile ? new PhaseClock() : NO_CLOCK;
  const batch = starts[0]!.length;
  const all = starts.flat();
  const n = all.length;
  const shares = splitEvenly(n, Math.min(pool.size, n));
  takeState(pool, vars, optimizer);
  const m = await sent(multipliers);
  clock.lap('publish');
  // round 1: gradients
  const jobs = shares.slice(1).map(([a, b], i) => pool.gradient(i + 1, windowRows(ids, all, ctx, a, b, batch), m, recompute));
  const [a0, b0] = shares[0]!;
  const rows0 = windowRows(ids, all, ctx, a0, b0, batch);
  clock.lap('send');
  const own = await sliceGradient(cfg, vars, pool.layout, rows0, pool.shared.grads[0]!, multipliers, { recompute });
  clock.lap('compute');
  const done = await Promise.all(jobs);
  clock.lap('wait');
  const lossSum = done.reduce((acc, d) => acc + d.lossSum, own);
  // round 2: the all-reduce by slices (with the update when there is no clipping to wait for)
  const weights = shares.map(([a, b]) => (b - a) / n);
  const { beta1, beta2, eps, weightDecay } = optimizer.opts;
  const update = (scale: number): AdamWSlice => ({ lr, beta1, beta2, eps, weightDecay, t: optimizer.t + 1, scale });
  const clipping = clip > 0 && Number.isFinite(clip);
  const answers: { phases?: PhaseTimes }[][] = [done]; // each round's answers, rank 1 first
  const others = () => Array.from({ length: pool.size - 1 }, (_, i) => i + 1);
  const reduces = others().map((r) => pool.reduce(r, weights, clipping ? undefined : update(1)));
  let squares = ownReduce(pool, weights, clipping ? undefined : update(1));
  const reduced = await Promise.all(reduces);
  for (const d of reduced) squares += d.lossSum; // in rank order
  answers.push(reduced);
  const gradNorm = Math.sqrt(squares);
  clock.lap('reduce');
  // round 3: the clipped update by slices
  if (clipping) {
    const u = update(clipScale(gradNorm, clip));
    const updates = others().map((r) => pool.update(r, u));
    const [lo, hi] = pool.slices[0]!;
    pool.math.adamw(u, { ...pool.shared, g: pool.shared.grads[0]! }, pool.segments, lo, hi);
    answers.push(await Promise.all(updates));
  }
  optimizer.t += 1;
  clock.lap('update');
  updatedParams(pool, vars);
  clock.lap('load');
  if (pool.profile) pool.lastPhases = [clock.times, ...others().map((r) => answers.reduce((acc, round) => addPhases(acc, round[r - 1]?.phases ?? {}), {}))];
  return { loss: lossSum / n, gradNorm };
}
