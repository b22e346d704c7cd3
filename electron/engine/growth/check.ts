/**
 * The function-preservation check: run source and grown model on the same token windows and
 * compare logits and losses. The verdict is a scale:
 * - 'exact': every logit within 1e-4 + 1e-4 |logit| of the source's and the loss equal to 1e-5;
 * - 'approximate': the mean next-token loss moved by at most APPROX_LOSS_BOUND (0.05 nats);
 * - 'changes the function': the loss moved more, the numbers are not finite, or an operator
 *   that promises exactness missed the exact tolerance (a bug, however small the change).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GrowthCheck } from './check-summary.ts';
import { ScionError } from '../errors.ts';
import { type ModelConfig, contextLength } from '../models/config.ts';
import { forward } from '../models/family.ts';
import type { Params } from '../models/params.ts';
import type { Verdict } from './options.ts';
import { APPROX_LOSS_BOUND, type CheckVerdict, LOGIT_ABS_TOL, LOGIT_REL_TOL, LOSS_TOL, gradeCheck } from './verdict.ts';
import { rngFor } from '../rng.ts';

export {
  APPROX_LOSS_BOUND,
  CHECK_VERDICTS,
  type CheckVerdict,
  LOGIT_ABS_TOL,
  LOGIT_REL_TOL,
  LOSS_TOL,
  VERDICT_SCALE,
  explainVerdict,
  gradeCheck,
} from './verdict.ts';

/** What a project records of a check (a model entry's lineage.growth). */
export function growthCheckOf(c: FunctionCheck): GrowthCheck {
  return { verdict: c.verdict, maxAbsLogitDiff: c.maxAbsLogitDiff, lossSource: c.lossSource, lossGrown: c.lossGrown, lossBound: c.lossBound };
}

/** `count` token windows of `length` tokens, row-major [count, length]. */
export interface CheckWindows {
  ids: Int32Array;
  count: number;
  length: number;
  /** Where they came from: a file, or 'random tokens (seed S)'. */
  origin: string;
}

export interface FunctionCheck {
  verdict: CheckVerdict;
  /** What the operator's theory predicts. */
  theory: Verdict;
  maxAbsLogitDiff: number;
  /** max over entries of |diff| / (1e-4 + 1e-4 |source logit|): <= 1 means within the exact tolerance. */
  worstToleranceRatio: number;
  withinExactTolerance: boolean;
  lossSource: number;
  lossGrown: number;
  lossChange: number;
  /** APPROX_LOSS_BOUND: the |lossChange| up to which the verdict is 'approximate'. */
  lossBound: number;
  windows: number;
  length: number;
  origin: string;
}

interface ParamModel {
  config: ModelConfig;
  params: Params;
}

/** Deterministic random token windows. */
export function randomWindows(vocab: number, count: number, length: number, seed = 0): CheckWindows {
  const rng = rngFor(seed, 'check-windows');
  return { ids: Int32Array.from({ length: count * length }, () => rng.int(vocab)), count, length, origin: `random tokens (seed ${seed})` };
}

/** `count` windows at evenly spaced offsets of a token stream (as the reference fixtures cut theirs). */
export function windowsFromTokens(tokens: Uint32Array, count: number, length: number, origin: string): CheckWindows {
  if (tokens.length < length + 1) throw new ScionError(`${origin}: ${tokens.length} tokens, fewer than one check window of ${length}`, 'E_DATASET', origin);
  const n = Math.max(1, Math.min(count, tokens.length - length + 1));
  const ids = new Int32Array(n * length);
  for (let w = 0; w < n; w++) {
    const off = n === 1 ? 0 : Math.floor((w * (tokens.length - length - 1)) / (n - 1));
    for (let j = 0; j < length; j++) ids[w * length + j] = tokens[off + j]!;
  }
  return { ids, count: n, length, origin };
}

/** Logits [T, V] of one window, as a flat array. */
async function windowLogits(m: ParamModel, ids: Int32Array): Promise<Float32Array> {
  const input = tf.tensor2d(ids, [1, ids.length], 'int32');
  try {
    const { logits } = forward(m.config, m.params, input);
    try {
      return (await logits.data()) as Float32Array;
    } finally {
      logits.dispose();
    }
  } finally {
    input.dispose();
  }
}

/** Summed next-token cross-entropy over a window (positions 0..T-2 predict 1..T-1), in double precision. */
function windowLossSum(logits: Float32Array, ids: Int32Array, vocab: number): number {
  let sum = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    const row = t * vocab;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, logits[row + v]!);
    let z = 0;
    for (let v = 0; v < vocab; v++) z += Math.exp(logits[row + v]! - max);
    sum += max + Math.log(z) - logits[row + ids[t + 1]!]!;
  }
  return sum;
}

/** Compares source and grown on the windows; `theory` is what the operator promises. */
export async function checkFunctionPreservation(source: ParamModel, grown: ParamModel, windows: CheckWindows, theory: Verdict): Promise<FunctionCheck> {
  const vocab = source.config.vocabSize;
  if (grown.config.vocabSize !== vocab) throw new ScionError(`cannot compare models with vocabularies ${vocab} and ${grown.config.vocabSize}`, 'E_GROW');
  const maxLen = Math.min(contextLength(source.config), contextLength(grown.config));
  if (windows.length > maxLen) throw new ScionError(`check windows of ${windows.length} tokens are longer than the context (${maxLen})`, 'E_GROW');
  if (windows.length < 2) throw new ScionError('check windows need at least 2 tokens', 'E_GROW');
  let maxAbs = 0;
  let worst = 0;
  let lossS = 0;
  let lossG = 0;
  for (let w = 0; w < windows.count; w++) {
    const ids = windows.ids.subarray(w * windows.length, (w + 1) * windows.length);
    const a = await windowLogits(source, ids);
    const b = await windowLogits(grown, ids);
    for (let i = 0; i < a.length; i++) {
      const diff = Math.abs(b[i]! - a[i]!);
      if (!(diff <= maxAbs)) maxAbs = Number.isNaN(diff) ? NaN : Math.max(maxAbs, diff);
      const ratio = diff / (LOGIT_ABS_TOL + LOGIT_REL_TOL * Math.abs(a[i]!));
      if (!(ratio <= worst)) worst = Number.isNaN(ratio) ? NaN : Math.max(worst, ratio);
    }
    lossS += windowLossSum(a, ids, vocab);
    lossG += windowLossSum(b, ids, vocab);
  }
  const preds = windows.count * (windows.length - 1);
  const lossSource = lossS / preds;
  const lossGrown = lossG / preds;
  const finite = Number.isFinite(lossGrown) && Number.isFinite(maxAbs);
  const within = finite && worst <= 1 && Math.abs(lossGrown - lossSource) <= LOSS_TOL;
  const lossChange = lossGrown - lossSource;
  return {
    verdict: gradeCheck({ withinExactTolerance: within, lossChange, maxAbsLogitDiff: maxAbs }, theory),
    theory,
    maxAbsLogitDiff: maxAbs,
    worstToleranceRatio: worst,
    withinExactTolerance: within,
    lossSource,
    lossGrown,
    lossChange,
    lossBound: APPROX_LOSS_BOUND,
    windows: windows.count,
    length: windows.length,
    origin: windows.origin,
  };
}
