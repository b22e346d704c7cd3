/**
 * One optimizer step over the thread pool, equal (up to float rounding) to train/step.ts's
 * `trainStep` on the same micro-batches: the step's K x B rows are split into one contiguous
 * share per rank, each rank computes the mean-loss gradient of its share (in chunks of at
 * most one micro-batch), the shares are reduced in shared memory in rank order, weighted by
 * their row counts (= gradient accumulation's mean, since every row has ctx tokens), then
 * rank 0 clips the global norm and applies one AdamW update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../../models/config.ts';
import type { AdamW } from '../adamw.ts';
import { clipScale, gradientNorm } from '../clip.ts';
import type { StepResult, Variables } from '../step.ts';
import { splitEvenly, type ThreadPool } from './pool.ts';
import type { Rows, SentTensor } from './protocol.ts';
import { sliceGradient } from './slice.ts';

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

/** `acc` + w * `shared` (or `acc` * w without `shared`) as a new tensor [P]; disposes `acc` when it returns a new one. */
function reduceInto(acc: tf.Tensor1D, w: number, shared?: Float32Array): tf.Tensor1D {
  if (!shared && w === 1) return acc;
  const next = tf.tidy(() => (shared ? tf.add(acc, tf.mul(tf.tensor1d(shared, 'float32'), w)) : tf.mul(acc, w)) as tf.Tensor1D); // [P]
  acc.dispose();
  return next;
}

/**
 * Splits the reduced gradient `g` [P] (the pool's flat layout, `names` in order) back into one
 * gradient per parameter, clips it to global norm `clip` (0 = off; the norm summed accurately, see
 * clip.ts) and applies one update. Returns the norm before clipping.
 */
async function clipAndApply(optimizer: AdamW, vars: Variables, names: readonly string[], g: tf.Tensor1D, lr: number, clip: number): Promise<number> {
  const parts = tf.split(
    g,
    names.map((n) => vars[n]!.size),
  );
  const grads: Record<string, tf.Tensor> = {};
  names.forEach((n, i) => {
    grads[n] = tf.reshape(parts[i]!, vars[n]!.shape); // the parameter's shape
  });
  tf.dispose(parts);
  try {
    const norm = await gradientNorm(grads);
    optimizer.apply(grads, lr, clipScale(norm, clip));
    return norm;
  } finally {
    tf.dispose(Object.values(grads));
  }
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

/** One training step on the pool; the threads read the parameters from the pool. */
export async function parallelTrainStep(pool: ThreadPool, s: StepInputs): Promise<StepResult> {
  const { cfg, vars, optimizer, starts, ids, ctx, lr, clip, multipliers } = s;
  const recompute = s.recompute === true;
  const batch = starts[0]!.length;
  const all = starts.flat();
  const n = all.length;
  const shares = splitEvenly(n, Math.min(pool.size, n));
  await pool.writeParams(vars);
  const m = await sent(multipliers);
  const jobs = shares.slice(1).map(([a, b], i) => pool.gradient(i + 1, windowRows(ids, all, ctx, a, b, batch), m, recompute));
  jobs.forEach((j) => j.catch(() => undefined)); // awaited below; keep an early failure from going unhandled
  const [a0, b0] = shares[0]!;
  const own = await sliceGradient(cfg, vars, pool.names, windowRows(ids, all, ctx, a0, b0, batch), multipliers, { recompute });
  let g: tf.Tensor1D = own.flat; // [P]
  let gradNorm: number;
  try {
    const done = await Promise.all(jobs);
    // the all-reduce: sum_r (rows_r / n) * g_r, in rank order, on the backend (each thread's g_r read once from shared memory)
    g = reduceInto(g, (b0 - a0) / n);
    done.forEach((_, i) => {
      const [a, b] = shares[i + 1]!;
      g = reduceInto(g, (b - a) / n, pool.gradientOf(i + 1));
    });
    gradNorm = await clipAndApply(optimizer, vars, pool.names, g, lr, clip);
  } finally {
    g.dispose();
  }
  const lossSum = (await Promise.all(jobs)).reduce((acc, d) => acc + d.lossSum, own.lossSum);
  return { loss: lossSum / n, gradNorm };
}
