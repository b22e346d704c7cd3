/** What a user asks `scion grow` for, and the names of the methods. */

export const WIDTH_METHODS = ['hypercloning', 'zero-pad', 'random-pad', 'net2net', 'aki', 'mlp-zero', 'add-heads', 'msg'] as const;
export const DEPTH_MODES = ['identity', 'stack', 'interpolate'] as const;
export type WidthMethod = (typeof WIDTH_METHODS)[number];
export type DepthMode = (typeof DEPTH_MODES)[number];
/** A width method, or a depth mode used alone (depth-only growth: `--method stack --layers 8`). */
export type MethodName = WidthMethod | DepthMode;

export type Verdict = 'exact' | 'approximate' | 'not preserving';

export interface GrowOptions {
  method: string;
  /** Target hidden size D (or `widthMult` x d). */
  hidden?: number;
  widthMult?: number;
  /** Target MLP inner size F (or `ffnMult` x f). */
  ffn?: number;
  ffnMult?: number;
  heads?: number;
  kvHeads?: number;
  /** Target number of blocks L'. */
  layers?: number;
  depth?: DepthMode;
  /** Identity blocks: after how many source blocks each new block goes (0..L), cycled; default L (the end). */
  insertAt?: number[];
  /** HyperCloning symmetry-breaking noise, signal-to-noise ratio in dB (function kept). */
  noiseDb?: number;
  seed?: number;
  /** Standard deviation of small random entries (new fan-in, random-pad); default 0.02. */
  padStd?: number;
  /** 'zero': every new entry zero and no noise, copies still scaled (for optimizer moments). */
  newEntries?: 'default' | 'zero';
}

/** Every key of GrowOptions, once: what growth.json records and what crosses a process border. */
export const GROW_OPTION_KEYS = [
  'method',
  'hidden',
  'widthMult',
  'ffn',
  'ffnMult',
  'heads',
  'kvHeads',
  'layers',
  'depth',
  'insertAt',
  'noiseDb',
  'seed',
  'padStd',
  'newEntries',
] as const satisfies readonly (keyof GrowOptions)[];
type Unlisted = Exclude<keyof GrowOptions, (typeof GROW_OPTION_KEYS)[number]>;
const everyKeyListed: Unlisted extends never ? true : Unlisted = true;
void everyKeyListed;

/** Only the growth options of a larger options object (no callbacks, CLI flags or request ids). */
export function pickGrowOptions(opts: GrowOptions): GrowOptions {
  const out: Partial<GrowOptions> = {};
  for (const k of GROW_OPTION_KEYS) if (opts[k] !== undefined) (out as Record<string, unknown>)[k] = opts[k];
  return { ...out, method: opts.method };
}

export const DEFAULT_SEED = 0;
export const DEFAULT_PAD_STD = 0.02;
