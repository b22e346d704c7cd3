/**
 * Before any growth plan is built (its axis maps are arrays of the target's sizes): refuses a
 * target that cannot exist on this machine, from the requested numbers alone. `--hidden 1e9`,
 * `--layers 100000` or a source config with n_embd 1e9 are refused here at once, instead of
 * growing memory until the kernel kills the process.
 */
import type { ModelConfig } from '../models/config.ts';
import { requireShapeCanExist } from '../memory/fit.ts';
import { shapeOf } from '../memory/estimate.ts';
import type { GrowOptions } from './options.ts';

/** The requested target's size (the larger of the explicit size and the multiple), before the planner checks it. */
function requested(base: number, size: number | undefined, mult: number | undefined, fallback: number): number {
  return Math.max(base, size ?? 0, mult !== undefined ? base * mult : 0, size === undefined && mult === undefined ? fallback : 0);
}

export function checkGrowthSize(source: ModelConfig, opts: GrowOptions): void {
  const s = shapeOf(source);
  requireShapeCanExist(source.family, s, 'the source model');
  const hidden = requested(s.hidden, opts.hidden, opts.widthMult, s.hidden);
  const ffn = requested(s.ffn, opts.ffn, opts.ffnMult, Math.round((s.ffn * hidden) / s.hidden));
  const layers = Math.max(s.layers, opts.layers ?? 0);
  requireShapeCanExist(source.family, { ...s, hidden, ffn, layers }, 'the grown model');
}
