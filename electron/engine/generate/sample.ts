/**
 * Picking the next token from a logits row: greedy (temperature 0 or top-k 1), or a draw
 * from softmax(logits / temperature) restricted to the k most likely tokens. Pure numbers,
 * no tensors; the seeded Rng makes a draw repeatable.
 */
import { ScionError } from '../errors.ts';
import type { Rng } from '../rng.ts';

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy); 1 samples the model's distribution. */
  temperature: number;
  /** Keep only the k most likely tokens (0: all of them). */
  topK: number;
}

export function checkSampling(o: SamplingOptions): void {
  if (!Number.isFinite(o.temperature) || o.temperature < 0) throw new ScionError(`temperature must be a number >= 0, got ${o.temperature}`, 'E_USAGE');
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new ScionError(`top-k must be an integer >= 0, got ${o.topK}`, 'E_USAGE');
}

/** Index of the largest value (the first one on ties, as argmax does). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** The probabilities a draw uses: softmax(logits / T) over the top k, 0 elsewhere. */
export function samplingProbabilities(logits: ArrayLike<number>, o: SamplingOptions): Float64Array {
  const v = logits.length;
  const p = new Float64Array(v);
  if (o.temperature === 0 || o.topK === 1) {
    p[argmax(logits)] = 1;
    return p;
  }
  let keep: number[] = Array.from({ length: v }, (_, i) => i);
  if (o.topK > 0 && o.topK < v) keep = keep.sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, o.topK);
  let max = -Infinity;
  for (const i of keep) max = Math.max(max, logits[i]!);
  let sum = 0;
  for (const i of keep) {
    const e = Math.exp((logits[i]! - max) / o.temperature);
    p[i] = e;
    sum += e;
  }
  for (const i of keep) p[i]! /= sum;
  return p;
}

/** One token drawn from `logits` with the given temperature and top-k. */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Rng): number {
  if (o.temperature === 0 || o.topK === 1) return argmax(logits);
  const p = samplingProbabilities(logits, o);
  const u = rng.next();
  let acc = 0;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    acc += p[i]!;
    last = i;
    if (u < acc) return i;
  }
  return last; // rounding left u just above the total
}
