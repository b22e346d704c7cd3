/**
 * Loss-curve arithmetic for the Training screen: the x value of a point (step, tokens or
 * time), exponential smoothing, and "steps saved" of a grown run against a scratch baseline.
 * Pure functions, no DOM.
 */
import type { MetricPoint } from '../../../electron/shared/contract.ts';

export type XAxis = 'step' | 'tokens' | 'time';

export function xOf(p: MetricPoint, axis: XAxis): number {
  return axis === 'step' ? p.step : axis === 'tokens' ? p.tokens : p.time;
}

/**
 * Debiased exponential moving average (as TensorBoard draws it): weight 0 returns the raw
 * values, weight close to 1 smooths heavily; the first values are not pulled toward 0.
 */
export function smooth(values: number[], weight: number): number[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  const out: number[] = [];
  let avg = 0;
  let norm = 0;
  for (const v of values) {
    avg = avg * w + (1 - w) * v;
    norm = norm * w + (1 - w);
    out.push(norm > 0 ? avg / norm : v);
  }
  return out;
}

/**
 * Merges points by step, in step order: a point sent again (a resumed run) replaces the old
 * one field by field, so a validation point does not erase the training loss of its step.
 */
export function mergePoints(a: MetricPoint[], b: MetricPoint[]): MetricPoint[] {
  const byStep = new Map<number, MetricPoint>();
  for (const p of [...a, ...b]) byStep.set(p.step, { ...byStep.get(p.step), ...p });
  return [...byStep.values()].sort((x, y) => x.step - y.step);
}

export type LossField = 'train_loss' | 'val_loss';

/** Points that carry the loss `field` (validation-only points have no training loss, and most points no validation loss). */
export function pointsWith(points: MetricPoint[], field: LossField = 'train_loss'): MetricPoint[] {
  return points.filter((p) => typeof p[field] === 'number' && Number.isFinite(p[field]));
}
export const trainPoints = (points: MetricPoint[]): MetricPoint[] => pointsWith(points, 'train_loss');

export interface StepsSaved {
  /** Final smoothed loss of the scratch baseline: the target the grown run must reach. */
  targetLoss: number;
  scratchSteps: number;
  /** First step at which the grown run's smoothed loss is at or below the target. */
  grownSteps: number;
  saved: number;
  fraction: number;
}

/**
 * How many training steps the grown model saves: the scratch run's final smoothed loss is
 * the target; the grown run reaches it after `grownSteps`; saved = scratchSteps - grownSteps.
 * Undefined when either run is empty or the grown run never reaches the target.
 */
export function stepsSaved(grown: MetricPoint[], scratch: MetricPoint[], weight = 0.6): StepsSaved | undefined {
  grown = trainPoints(grown);
  scratch = trainPoints(scratch);
  if (grown.length === 0 || scratch.length === 0) return undefined;
  const s = smooth(
    scratch.map((p) => p.train_loss!),
    weight,
  );
  const targetLoss = s[s.length - 1] as number;
  const scratchSteps = (scratch[scratch.length - 1] as MetricPoint).step;
  const g = smooth(
    grown.map((p) => p.train_loss!),
    weight,
  );
  const idx = g.findIndex((v) => v <= targetLoss);
  if (idx < 0) return undefined;
  const grownSteps = (grown[idx] as MetricPoint).step;
  const saved = scratchSteps - grownSteps;
  return { targetLoss, scratchSteps, grownSteps, saved, fraction: scratchSteps > 0 ? saved / scratchSteps : 0 };
}

/** The point with the lowest `field` value (the first on ties), or undefined when none has it. */
export function bestPoint(points: MetricPoint[], field: LossField): MetricPoint | undefined {
  let best: MetricPoint | undefined;
  for (const p of pointsWith(points, field)) if (!best || (p[field] as number) < (best[field] as number)) best = p;
  return best;
}

export interface YRange {
  /** Upper end of the linear axis, or undefined to let the chart fit every value. */
  max?: number;
  /** Values above `max`, left off the linear axis (a diverged run). */
  clipped: number;
}

/**
 * The linear y-axis range that keeps a diverged run (loss 1e7) from flattening the others:
 * values far above the bulk (above the median by more than 10 times the spread between the
 * lowest value and the median, and above 4 times the median) are left off, and counted.
 * Without such values the chart fits all.
 */
export function robustYRange(values: number[]): YRange {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length < 4) return { clipped: 0 };
  const median = v[Math.floor(v.length / 2)]!;
  const spread = Math.max(median - v[0]!, Math.abs(median) * 0.05, 1e-6);
  const limit = Math.max(median + 10 * spread, median > 0 ? 4 * median : -Infinity);
  const kept = v.filter((x) => x <= limit);
  const clipped = v.length - kept.length;
  if (clipped === 0) return { clipped: 0 };
  const top = kept[kept.length - 1]!;
  return { max: top + 0.05 * (top - v[0]!), clipped };
}

/** Training throughput and time of a run so far, from its last point (time counts across resumes). */
export function throughput(points: MetricPoint[]): { tokensPerSecond?: number; seconds?: number } {
  const last = trainPoints(points).at(-1);
  if (!last || !(last.time > 0)) return {};
  return { tokensPerSecond: last.tokens / last.time, seconds: last.time };
}
