/**
 * What a growth method family plans: each family (tile.ts, pad.ts, net2net.ts, depth.ts)
 * implements this interface, and the registry (index.ts) names the planner of every method.
 * plan.ts runs the steps in order: request checks, hidden size, MLP size, heads, the whole
 * target, then maps, norm rescaling and the theory.
 */
import type { AxisMap } from '../axis.ts';
import { type ModelConfig, isLlamaShaped } from '../../models/config.ts';
import type { DepthMode, GrowOptions, Verdict } from '../options.ts';
import type { Dims } from '../sizes.ts';

export interface PlannedMaps {
  hidden: AxisMap;
  ffn: AxisMap;
  q: AxisMap;
  kv: AxisMap;
}

export interface Planner {
  /** Refusals of the request as given (before any size is resolved); returns the depth mode the plan uses. */
  depth(opts: GrowOptions, s: Dims): DepthMode | undefined;
  /** Whether HyperCloning's symmetry-breaking noise (--noise-db) applies. */
  noise: boolean;
  /** Refuses a target hidden size the method cannot make. */
  checkHidden(s: Dims, hidden: number): void;
  /** The MLP size when none is asked for. */
  defaultFfn(s: Dims, hidden: number): number;
  /** Refuses a target MLP size the method cannot make. */
  checkFfn(s: Dims, ffn: number): void;
  /** Target query and KV heads (refusing what the method cannot keep). */
  heads(source: ModelConfig, s: Dims, hidden: number, opts: GrowOptions): { heads: number; kvHeads: number };
  /** Refuses a whole target shape the method cannot make (after the layers are placed). */
  checkTarget(source: ModelConfig, s: Dims, t: Dims): void;
  /** How every grown axis maps; `seed` drives any random choice of source units. */
  maps(s: Dims, t: Dims, seed: number): PlannedMaps;
  /** Multiplier on copied RMSNorm gains (and on eps) when hidden grows under RMSNorm: sqrt(d/D) for a pad, else 1. */
  rmsGainScale(s: Dims, t: Dims): number;
  /** The final norm before a tied head takes the fan-in scale of the hidden units (tiling, Net2Net copies). */
  tiedHeadRescale: boolean;
  /** What theory says about the width growth (called when any width grows). */
  theory(source: ModelConfig, s: Dims, t: Dims): { verdict: Verdict; why: string[] };
  /** Why new identity blocks keep the function. */
  identityBlocks: string;
}

/** The parts most planners share: no depth rules of their own, no noise, no size limits, no norm rescale. */
export const PLANNER_DEFAULTS = {
  depth: (opts: GrowOptions): DepthMode | undefined => opts.depth,
  noise: false,
  checkHidden: (): void => undefined,
  checkFfn: (): void => undefined,
  checkTarget: (): void => undefined,
  rmsGainScale: (): number => 1,
  tiedHeadRescale: false,
  identityBlocks: 'new blocks have zero residual writers (exact)',
} satisfies Partial<Planner>;

/**
 * OLMo2's q/k norms take one RMS over all heads: heads added by padding or uneven copies change
 * it for every head (HyperCloning's whole copies keep it); and under a zero pad of the hidden
 * size (`epsScaled`) the eps x d/D that keeps the residual norms exact also reaches the q/k
 * norms, whose width is unchanged (OLMo2 has one rms_norm_eps). The reason, or undefined.
 */
export function fullWidthQkNormChange(source: ModelConfig, s: Dims, t: Dims, epsScaled = false): string | undefined {
  if (!isLlamaShaped(source) || !source.qkNormFull) return undefined;
  if (t.heads !== s.heads || t.kvHeads !== s.kvHeads) return "added heads change the RMS of OLMo 2's q/k norm, taken over all heads at once (approximate)";
  if (epsScaled && t.hidden > s.hidden) return "the eps x d/D of the residual norms also reaches OLMo 2's q/k norms, whose width does not grow (approximate)";
  return undefined;
}
