/**
 * The size and layer logic every growth planner shares: a model's shape numbers, resolving a
 * requested size (`--hidden` or `--width-mult`), and which source block feeds every target
 * block (`--layers` with `--depth identity|stack|interpolate`, `--insert-at`). Impossible
 * requests are refused here with what would work.
 */
import { ScionError } from '../errors.ts';
import { type ModelConfig, headDimOf, modelShape } from '../models/config.ts';
import type { DepthMode } from './options.ts';

/** The shape numbers of a model, family-neutral. */
export interface Dims {
  hidden: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layers: number;
}

export interface LayerSource {
  /** The source block this target block is made from. */
  src: number;
  /** A new identity block: its residual writers (attention and MLP output projections) are zero. */
  identity: boolean;
}

/** The dims of a config, from the one shape projection (models/config.ts). */
export function dimsOf(c: ModelConfig): Dims {
  const { hidden, ffn, heads, kvHeads, layers } = modelShape(c);
  return { hidden, ffn, heads, kvHeads, headDim: headDimOf(c), layers };
}

/** Refuses a growth request: a ScionError (E_GROW_SHAPE) saying why, and what would work. */
export function refuse(message: string): never {
  throw new ScionError(message, 'E_GROW_SHAPE');
}

/** "2d, 3d, 4d, ...": the sizes a tiling method accepts. */
export function multiples(d: number): string {
  return `${2 * d}, ${3 * d}, ${4 * d}, ...`;
}

/** A target size from `--name` or `--mult-name` x base (or `fallback`), refused unless a whole number at least `base`. */
export function resolveSize(name: string, multName: string, base: number, size: number | undefined, mult: number | undefined, fallback: number): number {
  if (size !== undefined && mult !== undefined) refuse(`give --${name} or --${multName}, not both`);
  const v = size ?? (mult !== undefined ? base * mult : fallback);
  if (!Number.isInteger(v) || v <= 0) refuse(`--${multName} ${mult} gives ${name} ${v}, not a whole number: use --${name} directly`);
  if (v < base) refuse(`${name} ${v} is smaller than the source's ${base}: growth only adds units`);
  return v;
}

/** Which source block feeds every one of the `L2` target blocks. */
export function layerPlan(depth: DepthMode | undefined, L: number, L2: number, insertAt: number[] | undefined): LayerSource[] {
  if (L2 < L) refuse(`layers ${L2} is fewer than the source's ${L}: growth only adds blocks`);
  if (insertAt !== undefined && depth !== 'identity') refuse('--insert-at places identity blocks: use it with --depth identity (or --method identity)');
  if (L2 === L) {
    if (depth !== undefined) refuse(`--depth ${depth} needs --layers larger than the source's ${L}`);
    return Array.from({ length: L }, (_, i) => ({ src: i, identity: false }));
  }
  if (depth === undefined) refuse(`--layers ${L2} needs --depth identity|stack|interpolate (how to make the new blocks)`);
  if (depth === 'stack') return Array.from({ length: L2 }, (_, i) => ({ src: i % L, identity: false }));
  if (depth === 'interpolate') {
    const out: LayerSource[] = [];
    for (let i = 0; i < L; i++) {
      const reps = Math.floor(L2 / L) + (i < L2 % L ? 1 : 0);
      for (let r = 0; r < reps; r++) out.push({ src: i, identity: false });
    }
    return out;
  }
  const positions = insertAt ?? [L];
  if (positions.length === 0) refuse('--insert-at needs at least one position');
  for (const p of positions)
    if (!Number.isInteger(p) || p < 0 || p > L) refuse(`--insert-at ${p} is not a block boundary: use 0..${L} (after how many source blocks)`);
  const count = new Array<number>(L + 1).fill(0);
  for (let j = 0; j < L2 - L; j++) count[positions[j % positions.length]!]! += 1;
  const out: LayerSource[] = [];
  for (let p = 0; p <= L; p++) {
    for (let c = 0; c < count[p]!; c++) out.push({ src: Math.max(0, p - 1), identity: true });
    if (p < L) out.push({ src: p, identity: false });
  }
  return out;
}
