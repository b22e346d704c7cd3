/**
 * `scion eval`'s computation: cut token ids into consecutive, non-overlapping windows of
 * `ctx` tokens from the start (a trailing partial window is dropped); inside each window
 * tokens 2..ctx are predicted from their prefixes. Loss is the mean cross-entropy over all
 * predictions; accuracy the share of top-1 hits. The loss's standard error comes from the
 * spread of the per-window losses (windows are the independent-ish units; tokens within a
 * window are not), so two models' losses can be told apart from noise.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ScionError } from '../errors.ts';
import { activeBackend, requireFits } from '../memory/fit.ts';
import { contextLength, type ModelConfig } from '../models/config.ts';
import type { Model } from '../models/model.ts';
import { lossAndCorrect } from './loss.ts';

export interface EvalOptions {
  ctx?: number;
  batch?: number;
  maxWindows?: number;
  /** The dataset's name (file or spec), for messages. */
  dataName?: string;
  onProgress?: (windowsDone: number, windowsTotal: number) => void;
}

export interface EvalResult {
  loss: number;
  /** Standard error of `loss`: the spread of the per-window losses / sqrt(windows) (undefined for one window). */
  lossStdErr?: number;
  /** Mean loss of each window, in order (paired comparisons of two models on the same windows). */
  windowLosses: number[];
  perplexity: number;
  accuracy: number;
  /** Number of predictions scored. */
  tokens: number;
  windows: number;
  ctx: number;
  seconds: number;
}

/** A batch size that keeps the logits under about 64M floats. */
export function defaultEvalBatch(ctx: number, vocab: number): number {
  return Math.max(1, Math.min(16, Math.floor(64e6 / (ctx * vocab))));
}

/** Inputs and targets [n, ctx-1] for windows [first, first+n) of `ids`. */
export function windowBatch(ids: Uint32Array, ctx: number, first: number, n: number): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const inp = new Int32Array(n * (ctx - 1));
  const tgt = new Int32Array(n * (ctx - 1));
  for (let w = 0; w < n; w++) {
    const base = (first + w) * ctx;
    for (let j = 0; j < ctx - 1; j++) {
      inp[w * (ctx - 1) + j] = ids[base + j]!;
      tgt[w * (ctx - 1) + j] = ids[base + j + 1]!;
    }
  }
  return { inputs: tf.tensor2d(inp, [n, ctx - 1], 'int32'), targets: tf.tensor2d(tgt, [n, ctx - 1], 'int32') };
}

/** Refuses an evaluation of `cfg` that the backend cannot hold (see memory/fit.ts), before the model is loaded. */
export function requireEvalFits(cfg: ModelConfig, opts: Pick<EvalOptions, 'ctx' | 'batch'>, file?: string): void {
  const ctx = Math.min(opts.ctx ?? contextLength(cfg), contextLength(cfg));
  requireFits('eval', cfg, opts.batch ?? defaultEvalBatch(ctx, cfg.vocabSize), ctx, activeBackend(), file);
}

/** The windows an evaluation scores: `windows` windows of `ctx` tokens, `batch` at a time (checked against the model and the data). */
export function evalPlan(model: Model, ids: Uint32Array, opts: EvalOptions = {}): { ctx: number; windows: number; batch: number } {
  const maxCtx = contextLength(model.config);
  const ctx = opts.ctx ?? maxCtx;
  if (ctx < 2) throw new ScionError(`--ctx must be at least 2 (one input and one prediction), got ${ctx}`, 'E_USAGE');
  if (ctx > maxCtx) throw new ScionError(`--ctx ${ctx} is longer than the model's context (${maxCtx})`, 'E_USAGE');
  let windows = Math.floor(ids.length / ctx);
  if (opts.maxWindows !== undefined) windows = Math.min(windows, opts.maxWindows);
  if (windows === 0) {
    const hint = ids.length >= 2 ? ` (a shorter --ctx, at most ${ids.length}, would fit)` : '';
    throw new ScionError(`${opts.dataName ?? 'the dataset'}: ${ids.length} tokens, fewer than one window of ${ctx}${hint}`, 'E_DATASET', opts.dataName);
  }
  const batch = opts.batch ?? defaultEvalBatch(ctx, model.config.vocabSize);
  requireFits('eval', model.config, batch, ctx, activeBackend());
  return { ctx, windows, batch };
}

/** Evaluates `model` on token ids `ids`. */
export async function evaluate(model: Model, ids: Uint32Array, opts: EvalOptions = {}): Promise<EvalResult> {
  const { ctx, windows, batch } = evalPlan(model, ids, opts);
  const start = Date.now();
  let lossSum = 0;
  let correct = 0;
  const windowLosses: number[] = [];
  for (let first = 0; first < windows; first += batch) {
    const n = Math.min(batch, windows - first);
    const { inputs, targets } = windowBatch(ids, ctx, first, n);
    try {
      const r = await lossAndCorrect(model.config, model.params, inputs, targets);
      lossSum += r.lossSum;
      correct += r.correct;
      for (const s of r.rowLossSums) windowLosses.push(s / (ctx - 1));
    } finally {
      inputs.dispose();
      targets.dispose();
    }
    opts.onProgress?.(first + n, windows);
  }
  return evalResultOf({ lossSum, correct, windowLosses, windows, ctx, start });
}

/** Assembles an EvalResult from summed window losses and hits over `windows` windows of `ctx` ids, timed from `start` (ms). */
export function evalResultOf(r: { lossSum: number; correct: number; windowLosses: number[]; windows: number; ctx: number; start: number }): EvalResult {
  const { lossSum, correct, windowLosses, windows, ctx } = r;
  const tokens = windows * (ctx - 1);
  const loss = lossSum / tokens;
  const se = standardError(windowLosses);
  return {
    loss,
    ...(se !== undefined ? { lossStdErr: se } : {}),
    windowLosses,
    perplexity: Math.exp(loss),
    accuracy: correct / tokens,
    tokens,
    windows,
    ctx,
    seconds: (Date.now() - r.start) / 1000,
  };
}

/** Standard error of the mean of `xs` (sample standard deviation / sqrt(n)); undefined below 2 values. */
export function standardError(xs: number[]): number | undefined {
  const n = xs.length;
  if (n < 2) return undefined;
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return Math.sqrt(variance / n);
}

/** What an evaluation entry keeps of a result (per-window losses to 6 digits). */
export function evalMetricsOf(r: EvalResult): Omit<EvalResult, 'seconds'> {
  return {
    loss: r.loss,
    ...(r.lossStdErr !== undefined ? { lossStdErr: r.lossStdErr } : {}),
    windowLosses: r.windowLosses.map((x) => Number(x.toPrecision(6))),
    perplexity: r.perplexity,
    accuracy: r.accuracy,
    tokens: r.tokens,
    windows: r.windows,
    ctx: r.ctx,
  };
}
