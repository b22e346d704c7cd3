/**
 * A model's loss against its parent's on the same dataset, with the uncertainty that says
 * whether the difference is more than noise. When both evaluations scored the same windows
 * (same context, same count) the comparison is paired: the standard error of the mean
 * per-window difference, much tighter than the two losses' own errors. Otherwise the two
 * standard errors combine as if independent. Pure functions, no DOM.
 */
import type { EvalMetrics } from '../../../electron/shared/contract.ts';

export interface LossDifference {
  /** mine - parent. */
  diff: number;
  /** Standard error of `diff`, when both sides have one. */
  se?: number;
  paired: boolean;
  /** 'same': equal to 1e-4; 'noise': within 2 standard errors; else which way it went. */
  verdict: 'same' | 'noise' | 'better' | 'worse';
}

function meanAndSe(xs: number[]): { mean: number; se?: number } {
  const n = xs.length;
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  if (n < 2) return { mean };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

export function lossDifference(mine: EvalMetrics, parent: EvalMetrics): LossDifference {
  const diff = mine.loss - parent.loss;
  const a = mine.windowLosses;
  const b = parent.windowLosses;
  let se: number | undefined;
  let paired = false;
  if (a && b && a.length === b.length && a.length > 1 && mine.ctx === parent.ctx) {
    se = meanAndSe(a.map((x, i) => x - b[i]!)).se;
    paired = true;
  } else if (mine.lossStdErr !== undefined && parent.lossStdErr !== undefined) {
    se = Math.hypot(mine.lossStdErr, parent.lossStdErr);
  }
  const verdict = Math.abs(diff) < 1e-4 ? 'same' : se !== undefined && Math.abs(diff) < 2 * se ? 'noise' : diff < 0 ? 'better' : 'worse';
  return { diff, ...(se !== undefined ? { se } : {}), paired, verdict };
}
