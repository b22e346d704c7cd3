/**
 * A tensor rule says how one target tensor is made: from which source tensor (and, for AKI,
 * which next-block tensor), with which axis maps, and what its new entries are. The family
 * composers (compose-gpt2.ts, compose-llama.ts, compose-neox.ts) build rules with matrixRule and
 * vectorRule; grow.ts executes them.
 */
import { isLlamaShaped } from '../models/config.ts';
import type { AxisMap } from './axis.ts';
import type { MatrixMaps } from './primitives.ts';
import type { GrowthPlan } from './plan.ts';

export interface MatrixRule {
  type: 'matrix';
  source: string;
  /** bert2BERT AKI: the next block's tensor, read for added output units. */
  next?: string;
  maps: MatrixMaps;
  /** Writes the residual stream (embeddings, attention and MLP output projections). */
  writer: boolean;
  /** All zero (a residual writer of a new identity block). */
  zero: boolean;
  /** Multiplier on every entry (Gemma's embedding: sqrt(d/D), as its sqrt(hidden) scale grows). */
  scale?: number;
}

export interface VectorRule {
  type: 'vector';
  source: string;
  next?: string;
  map: AxisMap;
  /** Value of new entries before any random pad. */
  newValue: number;
  /** Multiplier on copied entries (RMSNorm gain rescale). */
  scale: number;
  /** Also multiply copied entries by the map's fan-in scale (final norm before a tied head). */
  fanInScale?: boolean;
  /** Gemma's norms store gain - 1: `newValue` and `scale` act on the gain (stored + offset). */
  offset?: number;
  zero: boolean;
}

export type TensorRule = MatrixRule | VectorRule;

/** Where a rule reads: the source tensor, and (AKI) the next block's. */
export interface RuleSource {
  source: string;
  next?: string;
}

const sourceOf = (s: RuleSource): RuleSource => (s.next === undefined ? { source: s.source } : { source: s.source, next: s.next });

/** A [rows, cols] weight read from `s`, `inAxis` its fan-in; a reader of the residual stream unless `writer`. */
export function matrixRule(
  s: RuleSource,
  rows: AxisMap,
  cols: AxisMap,
  inAxis: 'rows' | 'cols',
  opts: { writer?: boolean; zero?: boolean; scale?: number } = {},
): MatrixRule {
  const rule: MatrixRule = { type: 'matrix', ...sourceOf(s), maps: { rows, cols, inAxis }, writer: opts.writer ?? false, zero: opts.zero ?? false };
  return opts.scale !== undefined && opts.scale !== 1 ? { ...rule, scale: opts.scale } : rule;
}

/** A vector read from `s` along `map`: new entries `newValue` (default 0), copies times `scale` (default 1). */
export function vectorRule(
  s: RuleSource,
  map: AxisMap,
  opts: { newValue?: number; scale?: number; fanInScale?: boolean; offset?: number; zero?: boolean } = {},
): VectorRule {
  return {
    type: 'vector',
    ...sourceOf(s),
    map,
    newValue: opts.newValue ?? 0,
    scale: opts.scale ?? 1,
    ...(opts.fanInScale !== undefined ? { fanInScale: opts.fanInScale } : {}),
    ...(opts.offset ? { offset: opts.offset } : {}),
    zero: opts.zero ?? false,
  };
}

/** Source name and AKI next-block name for a target block tensor `rest` of target block `i`. */
export function blockSources(plan: GrowthPlan, prefix: string, i: number, rest: string): { source: string; next?: string; identity: boolean } {
  const l = plan.layers[i];
  if (!l) throw new Error(`growth plan has no target block ${i}`);
  const source = `${prefix}${l.src}.${rest}`;
  const nextLayer = Math.min(l.src + 1, plan.sourceDims.layers - 1);
  if (plan.spec.aki && nextLayer !== l.src) return { source, next: `${prefix}${nextLayer}.${rest}`, identity: l.identity };
  return { source, identity: l.identity };
}

/** New norm gain value: zero for LayerNorm (new units stay zero after it), the rescaled gain for RMSNorm. */
export function newGain(plan: GrowthPlan): number {
  return isLlamaShaped(plan.source) ? plan.rmsGainScale : 0;
}
