/**
 * Learning-rate schedules: linear warm-up from 0 to the peak over `warmup` steps, an optional
 * constant phase at the peak for `hold` more steps (after growth: `+hold`), then cosine or
 * linear decay to `minLr` at `steps`, or constant. Steps count from 0; the rate for step s is
 * the one its update uses. Without a hold the decay starts right after the warm-up.
 */
export type ScheduleKind = 'cosine' | 'linear' | 'constant';
export const SCHEDULES: readonly ScheduleKind[] = ['cosine', 'linear', 'constant'];

export interface ScheduleOptions {
  lr: number;
  minLr: number;
  warmup: number;
  /** Steps at the peak rate after the warm-up, before the decay starts (default 0). */
  hold?: number;
  steps: number;
  schedule: ScheduleKind;
}

export function learningRate(step: number, o: ScheduleOptions): number {
  if (o.warmup > 0 && step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  if (o.schedule === 'constant') return o.lr;
  const decayStart = o.warmup + (o.hold ?? 0);
  if (step < decayStart) return o.lr;
  const span = Math.max(1, o.steps - decayStart);
  const progress = Math.min(1, Math.max(0, (step - decayStart) / span));
  const shape = o.schedule === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return o.minLr + (o.lr - o.minLr) * shape;
}
