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
    scratch.map((p) => p.train_loss),
    weight,
  );
  const targetLoss = s[s.length - 1] as number;
  const scratchSteps = (scratch[scratch.length - 1] as MetricPoint).step;
  const g = smooth(
    grown.map((p) => p.train_loss),
    weight,
  );
  const idx = g.findIndex((v) => v <= targetLoss);
  if (idx < 0) return undefined;
  const grownSteps = (grown[idx] as MetricPoint).step;
  const saved = scratchSteps - grownSteps;
  return { targetLoss, scratchSteps, grownSteps, saved, fraction: scratchSteps > 0 ? saved / scratchSteps : 0 };
}
