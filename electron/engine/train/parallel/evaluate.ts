/**
 * `evaluate` (eval/evaluate.ts) over the thread pool: the same windows, split into one
 * contiguous share per rank, each rank's summed loss and hits added up in rank order. The
 * result equals `evaluate`'s up to the order of the float additions.
 */
import { evalPlan, evalResultOf, type EvalOptions, type EvalResult } from '../../eval/evaluate.ts';
import type { Model } from '../../models/model.ts';
import { splitEvenly, type ThreadPool } from './pool.ts';
import { sliceLoss } from './slice.ts';
import { windowRows } from './step.ts';

export async function evaluateOnThreads(pool: ThreadPool, model: Model, ids: Uint32Array, opts: EvalOptions = {}): Promise<EvalResult> {
  const { ctx, windows, batch } = evalPlan(model, ids, opts);
  const start = Date.now();
  const starts = Array.from({ length: windows }, (_, w) => w * ctx); // window w: inputs ids[w*ctx ..], ctx - 1 predictions
  const shares = splitEvenly(windows, Math.min(pool.size, windows));
  pool.writeParams(model.params);
  const jobs = shares.slice(1).map(([a, b], i) => pool.evaluate(i + 1, windowRows(ids, starts, ctx - 1, a, b, batch)));
  jobs.forEach((j) => j.catch(() => undefined)); // awaited below
  const [a0, b0] = shares[0]!;
  const own = await sliceLoss(model.config, model.params, windowRows(ids, starts, ctx - 1, a0, b0, batch));
  let { lossSum, correct } = own;
  const rowSums = [...own.rowLossSums]; // shares are contiguous and in rank order: window order
  for (const d of await Promise.all(jobs)) {
    lossSum += d.lossSum;
    correct += d.correct ?? 0;
    rowSums.push(...(d.rowLossSums ?? []));
  }
  if (rowSums.length !== windows) throw new Error(`threaded evaluation: ${rowSums.length} window losses for ${windows} windows`);
  opts.onProgress?.(windows, windows);
  const windowLosses = rowSums.map((s) => s / (ctx - 1));
  return evalResultOf({ lossSum, correct, windowLosses, windows, ctx, start });
}
