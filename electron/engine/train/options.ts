/** Options of a training run, their defaults and checks. */
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { contextLength, type ModelConfig } from '../models/config.ts';
import { PRECISIONS, type Precision } from '../webgpu/ops-f16.ts';
import { DEFAULT_ADAMW } from './adamw.ts';
import { DEFAULT_LOSS_SCALE, DEFAULT_LOSS_SCALE_EVERY } from './loss-scale.ts';
import { absoluteDataSpec } from './data.ts';
import { SAMPLERS, type SamplerKind } from './batches.ts';
import { SCHEDULES, type ScheduleKind, type ScheduleOptions } from './schedule.ts';

export interface TrainOptions {
  /** Model folder: its weights (init 'pretrained') or only its config (init 'scratch'), and its tokenizer. */
  model: string;
  init?: 'pretrained' | 'scratch';
  /** Training data (a dataset spec: `file` or `file#FROM-TO`). */
  data: string;
  val?: string;
  out: string;
  steps: number;
  batch?: number;
  ctx?: number;
  lr?: number;
  minLr?: number;
  warmup?: number;
  /** After growth: a fresh warm-up of this many steps (replaces `warmup`). */
  rewarm?: number;
  /** Steps at the peak rate after the warm-up (or re-warm-up) before the decay starts, which then spans the remaining steps (after growth: `+hold`). */
  hold?: number;
  schedule?: ScheduleKind;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  clip?: number;
  gradAccum?: number;
  seed?: number;
  evalEvery?: number;
  evalWindows?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  /** Safetensors of AdamW moments to start from (`m/<name>`, `v/<name>`, metadata `t`), e.g. a source run's moments mapped through a growth operator. */
  moments?: string;
  /**
   * Masked growth (MSG): ramp the new entries of a model grown with `--method msg` in over this
   * many steps, W_eff = W * (M + (1 - M) * min(1, step / K)), M from the model's growth-mask.safetensors.
   */
  maskRamp?: number;
  /** How batches are drawn (default 'random'); 'sequential' reads the data once, in order (batches.ts). */
  sampler?: SamplerKind;
  /** Recompute each block's activations in the backward pass instead of keeping them (less memory, about a third more compute). */
  recompute?: boolean;
  /** Matrix products in f16 with loss scaling (WebGPU with shader-f16; loss-scale.ts), or fp32 (the default). */
  precision?: Precision;
  /** f16: the initial loss scale (a power of two, default 2^16) and the good steps before it doubles (default 1000). */
  lossScale?: number;
  lossScaleEvery?: number;
  /** Replace an existing run folder. */
  force?: boolean;
}

type Recorded = 'val' | 'rewarm' | 'hold' | 'moments' | 'maskRamp' | 'sampler' | 'recompute' | 'precision' | 'lossScale' | 'lossScaleEvery';
export type ResolvedTrainOptions = Required<Omit<TrainOptions, Recorded | 'force'>> & Pick<TrainOptions, Recorded>;

function need(ok: boolean, field: string, why: string): void {
  if (!ok) throw new ScionError(`train: ${field} ${why}`, 'E_USAGE');
}

/** Fills defaults, makes paths absolute (a run resumes from any folder) and checks every option against the model's config. */
export function resolveTrainOptions(o: TrainOptions, cfg: ModelConfig): ResolvedTrainOptions {
  const maxCtx = contextLength(cfg);
  const steps = o.steps;
  need(Number.isInteger(steps) && steps >= 1, '--steps', `must be an integer >= 1, got ${steps}`);
  const lr = o.lr ?? 1e-3;
  const r: ResolvedTrainOptions = {
    model: path.resolve(o.model),
    init: o.init ?? 'pretrained',
    data: absoluteDataSpec(o.data),
    out: path.resolve(o.out),
    steps,
    batch: o.batch ?? 8,
    ctx: o.ctx ?? Math.min(128, maxCtx),
    lr,
    minLr: o.minLr ?? lr / 10,
    warmup: o.warmup ?? 0,
    schedule: o.schedule ?? 'cosine',
    weightDecay: o.weightDecay ?? DEFAULT_ADAMW.weightDecay,
    beta1: o.beta1 ?? DEFAULT_ADAMW.beta1,
    beta2: o.beta2 ?? DEFAULT_ADAMW.beta2,
    eps: o.eps ?? DEFAULT_ADAMW.eps,
    clip: o.clip ?? 1,
    gradAccum: o.gradAccum ?? 1,
    seed: o.seed ?? 0,
    evalEvery: o.evalEvery ?? Math.max(1, Math.round(steps / 10)),
    evalWindows: o.evalWindows ?? 64,
    checkpointEvery: o.checkpointEvery ?? Math.max(1, Math.round(steps / 5)),
    keepCheckpoints: o.keepCheckpoints ?? 2,
    ...(o.val !== undefined ? { val: absoluteDataSpec(o.val) } : {}),
    ...(o.rewarm !== undefined ? { rewarm: o.rewarm } : {}),
    // only a run with a constant phase records it, so the runs of earlier versions keep their settings
    ...(o.hold !== undefined && o.hold > 0 ? { hold: o.hold } : {}),
    ...(o.moments !== undefined ? { moments: path.resolve(o.moments) } : {}),
    ...(o.maskRamp !== undefined ? { maskRamp: o.maskRamp } : {}),
    // only a sequential run records it, so the runs of earlier versions keep their settings
    ...(o.sampler === 'sequential' ? { sampler: o.sampler } : {}),
    ...(o.recompute === true ? { recompute: true } : {}),
    // likewise f16 (fp32 runs record nothing), with its scaler's settings
    ...(o.precision === 'f16'
      ? { precision: o.precision, lossScale: o.lossScale ?? DEFAULT_LOSS_SCALE, lossScaleEvery: o.lossScaleEvery ?? DEFAULT_LOSS_SCALE_EVERY }
      : {}),
  };
  need(r.init === 'pretrained' || r.init === 'scratch', '--init', `must be 'pretrained' or 'scratch', got '${r.init}'`);
  for (const [k, v] of [
    ['--batch', r.batch],
    ['--grad-accum', r.gradAccum],
    ['--eval-every', r.evalEvery],
    ['--eval-windows', r.evalWindows],
    ['--checkpoint-every', r.checkpointEvery],
    ['--keep-checkpoints', r.keepCheckpoints],
  ] as const) {
    need(Number.isInteger(v) && v >= 1, k, `must be an integer >= 1, got ${v}`);
  }
  need(Number.isInteger(r.ctx) && r.ctx >= 1 && r.ctx <= maxCtx, '--ctx', `must be between 1 and the model's context ${maxCtx}, got ${r.ctx}`);
  if (r.maskRamp !== undefined) {
    need(Number.isInteger(r.maskRamp) && r.maskRamp >= 1, '--mask-ramp', `must be an integer >= 1 (steps), got ${r.maskRamp}`);
    need(r.init === 'pretrained', '--mask-ramp', 'ramps in the new parts of a grown model: it needs --init pretrained');
  }
  need(Number.isInteger(r.warmup) && r.warmup >= 0, '--warmup', `must be an integer >= 0, got ${r.warmup}`);
  if (r.rewarm !== undefined) need(Number.isInteger(r.rewarm) && r.rewarm >= 0, '--rewarm', `must be an integer >= 0, got ${r.rewarm}`);
  if (o.hold !== undefined) {
    need(Number.isInteger(o.hold) && o.hold >= 0, '--hold', `must be an integer >= 0 (steps), got ${o.hold}`);
    const w = effectiveWarmup(r);
    need(w + o.hold <= steps, '--hold', `(${o.hold} steps) plus the warm-up (${w}) must fit in --steps (${steps})`);
  }
  need(r.lr > 0 && Number.isFinite(r.lr), '--lr', `must be a positive number, got ${r.lr}`);
  need(r.minLr >= 0 && r.minLr <= r.lr, '--min-lr', `must be between 0 and --lr (${r.lr}), got ${r.minLr}`);
  if (o.sampler !== undefined) need(SAMPLERS.includes(o.sampler), '--sampler', `must be one of ${SAMPLERS.join(', ')}, got '${String(o.sampler)}'`);
  if (o.precision !== undefined) need(PRECISIONS.includes(o.precision), '--precision', `must be one of ${PRECISIONS.join(', ')}, got '${String(o.precision)}'`);
  if (r.precision !== 'f16') need(o.lossScale === undefined && o.lossScaleEvery === undefined, '--loss-scale', 'and --loss-scale-every need --precision f16');
  else {
    need(r.recompute !== true, '--precision f16', 'cannot be combined with --recompute yet (the recomputed backward pass does not scale the loss)');
    need(r.lossScale! >= 1 && Math.log2(r.lossScale!) % 1 === 0, '--loss-scale', `must be a power of two >= 1, got ${r.lossScale}`);
    need(Number.isInteger(r.lossScaleEvery) && r.lossScaleEvery! >= 1, '--loss-scale-every', `must be an integer >= 1, got ${r.lossScaleEvery}`);
  }
  need(SCHEDULES.includes(r.schedule), '--schedule', `must be one of ${SCHEDULES.join(', ')}, got '${r.schedule}'`);
  need(r.weightDecay >= 0, '--weight-decay', `must be >= 0, got ${r.weightDecay}`);
  need(r.clip >= 0, '--clip', `must be >= 0 (0 turns clipping off), got ${r.clip}`);
  need(r.beta1 >= 0 && r.beta1 < 1 && r.beta2 >= 0 && r.beta2 < 1, 'betas', 'must be in [0, 1)');
  need(Number.isInteger(r.seed) && r.seed >= 0, '--seed', `must be an integer >= 0, got ${r.seed}`);
  return r;
}

/** The warm-up the schedule uses: `rewarm` (after growth) when given, else `warmup`. */
export function effectiveWarmup(o: Pick<ResolvedTrainOptions, 'rewarm' | 'warmup'>): number {
  return o.rewarm ?? o.warmup;
}

/** The run's learning-rate schedule (schedule.ts): its warm-up (or re-warm-up), constant phase and decay. */
export function scheduleOf(o: ResolvedTrainOptions): ScheduleOptions {
  return { lr: o.lr, minLr: o.minLr, warmup: effectiveWarmup(o), hold: o.hold ?? 0, steps: o.steps, schedule: o.schedule };
}
