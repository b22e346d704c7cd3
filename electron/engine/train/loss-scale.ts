/**
 * Mixed precision training (`--precision f16`, WebGPU with shader-f16): the matrix products
 * take f16 operands (webgpu/ops-f16.ts) while the weights AdamW updates and its moments stay
 * float32. Dynamic loss scaling keeps small gradients from vanishing in f16: the loss is
 * multiplied by `scale` before the backward pass and the gradients divided by it before the
 * update (inside AdamW's factor, with the clipping). A step whose gradients hold inf or NaN
 * (an f16 overflow) is skipped, the update not applied, and the scale halved; after `every`
 * good steps in a row it doubles. Scales are powers of two, so scaling is exact. The state
 * (scale, good steps) is checkpointed, so a resumed run scales as the uninterrupted one.
 * Below a scale of 1 the overflow is not the scale's doing: the run stops as diverged.
 */
import { ScionError } from '../errors.ts';
import { setMatmulPrecision } from '../webgpu/ops-f16.ts';
import type { CheckpointState } from './checkpoint.ts';
import type { ResolvedTrainOptions } from './options.ts';
import type { StepResult } from './step.ts';

export const DEFAULT_LOSS_SCALE = 2 ** 16;
export const DEFAULT_LOSS_SCALE_EVERY = 1000;

export interface LossScaleState {
  scale: number;
  /** Good steps since the last change of scale. */
  good: number;
}

export interface ScaleUpdate {
  /** The step's update was not applied. */
  skipped: boolean;
  /** What changed, for the log (absent when nothing did). */
  message?: string;
}

export class LossScaler {
  scale: number;
  good: number;
  constructor(
    initial: LossScaleState,
    readonly every: number,
  ) {
    this.scale = initial.scale;
    this.good = initial.good;
  }

  /** After a step at `this.scale` whose gradients were finite or not (step `step`, for the log). */
  update(finite: boolean, step: number): ScaleUpdate {
    if (!finite) {
      const old = this.scale;
      this.scale = old / 2;
      this.good = 0;
      if (this.scale < 1)
        throw new ScionError(
          `training diverged: the gradients are inf/NaN at step ${step} even at loss scale ${old} (train in fp32 or lower --lr)`,
          'E_DIVERGED',
        );
      return { skipped: true, message: `step ${step}: inf/NaN gradients at loss scale ${old}: update skipped, scale halved to ${this.scale}` };
    }
    if (++this.good < this.every) return { skipped: false };
    this.scale *= 2;
    this.good = 0;
    return {
      skipped: false,
      message: `step ${step}: no overflow in ${this.every} step${this.every === 1 ? '' : 's'} in a row: loss scale raised to ${this.scale}`,
    };
  }

  state(): LossScaleState {
    return { scale: this.scale, good: this.good };
  }
}

/** The scaler of an f16 run (from the checkpoint's state when it has one), or undefined for fp32. */
export function makeScaler(o: ResolvedTrainOptions, state: CheckpointState): LossScaler | undefined {
  if (o.precision !== 'f16') return undefined;
  return new LossScaler(state.lossScale ?? { scale: o.lossScale ?? DEFAULT_LOSS_SCALE, good: 0 }, o.lossScaleEvery ?? DEFAULT_LOSS_SCALE_EVERY);
}

export interface ScaledStep extends StepResult {
  /** The scale the step ran at (f16 runs). */
  lossScale?: number;
  /** What the scaler did, for the log. */
  message?: string;
}

/**
 * Step `step` of a run: `run` as it is without a scaler, else with the matrix products in f16
 * at the scaler's loss scale (fp32 again after it, so evaluations stay fp32), then the scaler's update.
 */
export async function scaledStep(scaler: LossScaler | undefined, step: number, run: (lossScale?: number) => Promise<StepResult>): Promise<ScaledStep> {
  if (!scaler) return run();
  const lossScale = scaler.scale;
  setMatmulPrecision('f16');
  let r: StepResult;
  try {
    r = await run(lossScale);
  } finally {
    setMatmulPrecision('fp32');
  }
  const u = scaler.update(r.skipped !== true, step);
  return { ...r, lossScale, ...(u.message ? { message: u.message } : {}) };
}
