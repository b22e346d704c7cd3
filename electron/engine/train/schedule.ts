/**
 * Learning-rate schedules: linear warm-up from 0 to the peak over `warmup` steps, then
 * cosine or linear decay to `minLr` at `steps`, or constant. Steps count from 0; the rate
 * for step s is the one its update uses.
 */
export type ScheduleKind = 'cosine' | 'linear' | 'constant';
export const SCHEDULES: readonly ScheduleKind[] = ['cosine', 'linear', 'constant'];

export interface ScheduleOptions {
  lr: number;
  minLr: number;
  warmup: number;
  steps: number;
  schedule: ScheduleKind;
}

export function learningRate(step: number, o: ScheduleOptions): number {
  if (o.warmup > 0 && step < o.warmup) return (o.lr * (step + 1)) / o.warmup;
  if (o.schedule === 'constant') return o.lr;
  const span = Math.max(1, o.steps - o.warmup);
  const progress = Math.min(1, Math.max(0, (step - o.warmup) / span));
  const shape = o.schedule === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * progress)) : 1 - progress;
  return o.minLr + (o.lr - o.minLr) * shape;
}
