/** Whether and how a training run or an evaluation uses the thread pool. */
import * as tf from '@tensorflow/tfjs-core';
import { currentBackend } from '../../backend.ts';
import { evalPlan, evaluate, type EvalOptions, type EvalResult } from '../../eval/evaluate.ts';
import type { ModelConfig } from '../../models/config.ts';
import type { Model } from '../../models/model.ts';
import type { Params } from '../../models/params.ts';
import { batchFromStarts, disposeBatch } from '../batches.ts';
import { trainStep, type StepResult } from '../step.ts';
import { evaluateOnThreads } from './evaluate.ts';
import { ThreadPool } from './pool.ts';
import { parallelTrainStep, type StepInputs } from './step.ts';
import { resolveThreads } from './threads.ts';

/** Backends whose kernels run on one core, so more cores need more threads; the native and GPU backends parallelise by themselves. */
const SINGLE_CORE_BACKENDS = ['wasm', 'cpu'];

/**
 * Starts `threads - 1` compute threads for a model with `params` (by name; names and shapes
 * only are read), or returns why not: one thread asked for, not enough `work` items (rows of
 * a step, windows of an evaluation) to share, or a backend that is already parallel.
 * `profile`: the pool records where each step's time goes (phases.ts).
 */
export async function startThreads(
  threads: number,
  config: ModelConfig,
  params: Params,
  work: number,
  opts: { profile?: boolean } = {},
): Promise<{ pool: ThreadPool; threads: number } | { pool?: undefined; threads: 1; why: string }> {
  const backend = currentBackend()?.name ?? tf.getBackend();
  if (threads < 2) return { threads: 1, why: 'one thread asked for' };
  if (!SINGLE_CORE_BACKENDS.includes(backend)) return { threads: 1, why: `the ${backend} backend uses the cores by itself` };
  const n = Math.min(threads, work);
  if (n < 2) return { threads: 1, why: `only ${work} row(s) of work to share` };
  const layout = Object.entries(params).map(([name, t]) => ({ name, shape: t.shape }));
  return { pool: await ThreadPool.start({ threads: n, backend, config, layout, ...opts }), threads: n };
}

/** `evaluate` on the pool when there is one, else in this thread. */
export function evaluateWith(pool: ThreadPool | undefined, model: Model, ids: Uint32Array, opts: EvalOptions = {}): Promise<EvalResult> {
  return pool ? evaluateOnThreads(pool, model, ids, opts) : evaluate(model, ids, opts);
}

/**
 * One training step on the micro-batches whose window starts are `starts` (K lists of B):
 * on the pool when there is one, else `trainStep` in this thread.
 */
export async function stepWith(pool: ThreadPool | undefined, s: StepInputs): Promise<StepResult> {
  if (pool) return parallelTrainStep(pool, s);
  const batches = s.starts.map((st) => batchFromStarts(s.ids, st, s.ctx));
  try {
    return await trainStep(s.cfg, s.vars, s.optimizer, batches, s.lr, s.clip, s.multipliers, {
      recompute: s.recompute === true,
      ...(s.lossScale !== undefined ? { lossScale: s.lossScale } : {}),
    });
  } finally {
    batches.forEach(disposeBatch);
  }
}

/**
 * `evaluate` on `threads` threads (started for this evaluation and closed after it) when
 * there are at least two batches of windows to share, else in this thread.
 */
export async function evaluateThreaded(model: Model, ids: Uint32Array, opts: EvalOptions & { threads?: number } = {}): Promise<EvalResult> {
  const { windows, batch } = evalPlan(model, ids, opts);
  const started = await startThreads(resolveThreads(opts.threads), model.config, model.params, Math.ceil(windows / batch));
  try {
    return await evaluateWith(started.pool, model, ids, opts);
  } finally {
    await started.pool?.close();
  }
}
