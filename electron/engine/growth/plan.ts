/**
 * Resolves a growth request into a plan: the target config, how every axis maps (hidden, MLP,
 * query heads, KV heads), which source block feeds every target block, and what the theory
 * says about the function. Impossible shapes are refused here, with what would work.
 */
import { ScionError } from '../errors.ts';
import type { ModelConfig } from '../models/config.ts';
import { type AxisMap, headsToUnits, identityMap, padMap, tileMap, unitMap } from './axis.ts';
import { type MethodSpec, methodSpec } from './methods/index.ts';
import { DEFAULT_PAD_STD, DEFAULT_SEED, type DepthMode, type GrowOptions, type NegativeControl, type Verdict } from './options.ts';
import { rngFor } from './random.ts';
import { checkGrowthSize } from './size-check.ts';

export interface LayerSource {
  /** The source block this target block is made from. */
  src: number;
  /** A new identity block: its residual writers (attention and MLP output projections) are zero. */
  identity: boolean;
}

/** The shape numbers of a model, family-neutral. */
export interface Dims {
  hidden: number;
  ffn: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  layers: number;
}

export interface GrowthPlan {
  method: string;
  spec: MethodSpec;
  /** The request with every default filled in (what growth.json records). */
  resolved: Required<Pick<GrowOptions, 'seed' | 'padStd'>> & GrowOptions & { depth?: DepthMode };
  source: ModelConfig;
  target: ModelConfig;
  sourceDims: Dims;
  targetDims: Dims;
  maps: { hidden: AxisMap; ffn: AxisMap; q: AxisMap; kv: AxisMap; vocab: AxisMap; positions: AxisMap };
  layers: LayerSource[];
  /** Multiplier on copied RMSNorm gains (sqrt(d/D) for zero/random pad), and the value of new ones. */
  rmsGainScale: number;
  /**
   * A tied head reads the embedding, which cannot carry the fan-in scale: the final norm's
   * copied gain (and bias) then takes each hidden unit's fan-in scale instead (1/n for n-fold
   * tiling, 1/copies for Net2Net), so the logits are not counted n times.
   */
  tiedHeadRescale: boolean;
  /** HyperCloning noise level in dB, if asked for. */
  noiseDb?: number;
  negativeControl?: NegativeControl;
  theory: { verdict: Verdict; why: string };
}

function dimsOf(c: ModelConfig): Dims {
  return c.family === 'gpt2'
    ? { hidden: c.nEmbd, ffn: c.nInner, heads: c.nHead, kvHeads: c.nHead, headDim: c.nEmbd / c.nHead, layers: c.nLayer }
    : { hidden: c.hiddenSize, ffn: c.intermediateSize, heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, headDim: c.headDim, layers: c.numHiddenLayers };
}

function refuse(message: string): never {
  throw new ScionError(message, 'E_GROW_SHAPE');
}

function multiples(d: number): string {
  return `${2 * d}, ${3 * d}, ${4 * d}, ...`;
}

function resolveSize(name: string, multName: string, base: number, size: number | undefined, mult: number | undefined, fallback: number): number {
  if (size !== undefined && mult !== undefined) refuse(`give --${name} or --${multName}, not both`);
  const v = size ?? (mult !== undefined ? base * mult : fallback);
  if (!Number.isInteger(v) || v <= 0) refuse(`--${multName} ${mult} gives ${name} ${v}, not a whole number: use --${name} directly`);
  if (v < base) refuse(`${name} ${v} is smaller than the source's ${base}: growth only adds units`);
  return v;
}

/** Target heads and KV heads, per family and mapping; refuses what the mapping cannot keep. */
function resolveHeads(source: ModelConfig, s: Dims, spec: MethodSpec, D: number, n: number, opts: GrowOptions): { heads: number; kvHeads: number } {
  const m = spec.info.name;
  if (source.family === 'gpt2') {
    if (m === 'add-heads')
      refuse(
        `add-heads cannot grow GPT-2: its heads x head_dim must equal hidden ${s.hidden}; use zero-pad with a larger --hidden (adds heads) or hypercloning`,
      );
    if (D % s.headDim !== 0) {
      refuse(
        `hidden ${D} is not a multiple of head_dim ${s.headDim}: GPT-2's heads x head_dim = hidden and head_dim stays fixed; use a multiple of ${s.headDim}`,
      );
    }
    const h = D / s.headDim;
    if (opts.heads !== undefined && opts.heads !== h)
      refuse(`GPT-2 keeps head_dim ${s.headDim} and heads x head_dim = hidden, so hidden ${D} means ${h} heads, not ${opts.heads}`);
    if (opts.kvHeads !== undefined && opts.kvHeads !== h) refuse(`GPT-2 has no grouped KV heads: --kv-heads must equal the heads (${h})`);
    return { heads: h, kvHeads: h };
  }
  const g = s.heads / s.kvHeads;
  if (spec.mapping === 'tile') {
    const heads = opts.heads ?? s.heads * n;
    if (heads % s.heads !== 0) refuse(`heads ${heads} is not a multiple of ${s.heads}: hypercloning copies heads whole; use ${multiples(s.heads)} or zero-pad`);
    const p = heads / s.heads;
    const kvDefault = s.kvHeads * p;
    const kvHeads = opts.negativeControl === 'kv-heads-not-grown' ? s.kvHeads : (opts.kvHeads ?? kvDefault);
    if (opts.negativeControl !== 'kv-heads-not-grown' && kvHeads !== kvDefault && !(s.kvHeads === 1 && kvHeads === 1)) {
      refuse(
        `KV heads must grow with the query heads (x${p}) to keep the function under grouped-query attention: use --kv-heads ${kvDefault}${s.kvHeads === 1 ? ' (or keep 1)' : ''}`,
      );
    }
    return { heads, kvHeads };
  }
  let heads = opts.heads ?? ((s.heads * D) % s.hidden === 0 ? (s.heads * D) / s.hidden : s.heads);
  if (m === 'mlp-zero') heads = opts.heads ?? s.heads;
  if (m === 'add-heads' && opts.heads === undefined) refuse(`add-heads needs --heads (more than ${s.heads})`);
  if (heads < s.heads) refuse(`heads ${heads} is fewer than the source's ${s.heads}: growth only adds heads`);
  const kvHeads = opts.kvHeads ?? (heads % g === 0 ? heads / g : s.kvHeads);
  if (kvHeads < s.kvHeads) refuse(`KV heads ${kvHeads} is fewer than the source's ${s.kvHeads}`);
  if (heads % kvHeads !== 0)
    refuse(
      `heads ${heads} is not a multiple of KV heads ${kvHeads}; try --kv-heads ${heads % g === 0 ? heads / g : s.kvHeads} or --heads a multiple of ${kvHeads}`,
    );
  if (heads / kvHeads < g)
    refuse(
      `heads ${heads} over KV heads ${kvHeads} gives ${heads / kvHeads} query heads per KV head, fewer than the source's ${g}: use --kv-heads ${Math.floor(heads / g)} or fewer`,
    );
  // transformers (5.x) refuses a Llama config whose hidden size is not a multiple of the heads,
  // even with head_dim set; such a model could not be exported back to Hugging Face.
  if (D % heads !== 0) {
    const ok = Array.from({ length: 4 * heads }, (_, i) => i + 1).filter((h) => h > s.heads && D % h === 0 && h % g === 0);
    refuse(
      `hidden ${D} is not a multiple of ${heads} heads, which transformers requires of a Llama config (it would refuse to load the grown model)${ok.length ? `: use --heads ${ok.slice(0, 4).join(', ')}` : ''}`,
    );
  }
  return { heads, kvHeads };
}

/** Query-head and KV-head maps. */
function headMaps(spec: MethodSpec, s: Dims, heads: number, kvHeads: number, seed: number): { q: AxisMap; kv: AxisMap } {
  const hd = s.headDim;
  const g = s.heads / s.kvHeads;
  const g2 = heads / kvHeads;
  if (spec.mapping === 'tile') {
    const p = heads / s.heads;
    const q = headsToUnits(
      Int32Array.from({ length: heads }, (_, t) => t % s.heads),
      s.heads,
      hd,
      new Float32Array(heads).fill(1 / p),
      'internal',
      p,
    );
    const kvSrc = Int32Array.from({ length: kvHeads }, (_, k) => k % s.kvHeads);
    const kv = headsToUnits(kvSrc, s.kvHeads, hd, new Float32Array(kvHeads).fill(1), 'internal');
    return { q, kv };
  }
  const groupSrc = new Int32Array(kvHeads);
  const slotSrc = new Int32Array(g2);
  if (spec.mapping === 'net2net') {
    const rng = rngFor(seed, 'mapping:heads');
    for (let k = 0; k < kvHeads; k++) groupSrc[k] = k < s.kvHeads ? k : rng.int(s.kvHeads);
    for (let j = 0; j < g2; j++) slotSrc[j] = j < g ? j : rng.int(g);
  } else {
    for (let k = 0; k < kvHeads; k++) groupSrc[k] = k < s.kvHeads ? k : -1;
    for (let j = 0; j < g2; j++) slotSrc[j] = j < g ? j : -1;
  }
  // Target head t sits in KV group floor(t / g2) at slot t % g2 (HF repeat_kv order).
  const qSrc = Int32Array.from({ length: heads }, (_, t) => {
    const k = groupSrc[Math.floor(t / g2)]!;
    const j = slotSrc[t % g2]!;
    return k >= 0 && j >= 0 ? k * g + j : -1;
  });
  const counts = new Int32Array(s.heads);
  for (const h of qSrc) if (h >= 0) counts[h]! += 1;
  const qScale = Float32Array.from(qSrc, (h) => (h >= 0 ? 1 / counts[h]! : 1));
  return { q: headsToUnits(qSrc, s.heads, hd, qScale), kv: headsToUnits(groupSrc, s.kvHeads, hd, new Float32Array(kvHeads).fill(1)) };
}

function unitAxis(spec: MethodSpec, d: number, size: number, kind: 'hidden' | 'internal', seed: number, stream: string): AxisMap {
  if (spec.mapping === 'tile') return tileMap(d, size / d, kind);
  if (spec.mapping === 'net2net') {
    const rng = rngFor(seed, `mapping:${stream}`);
    return unitMap(
      d,
      Int32Array.from({ length: size }, (_, j) => (j < d ? j : rng.int(d))),
      kind,
    );
  }
  return size === d ? identityMap(d, kind) : padMap(d, size, kind);
}

function layerPlan(depth: DepthMode | undefined, L: number, L2: number, insertAt: number[] | undefined): LayerSource[] {
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

const ORDER: Verdict[] = ['exact', 'approximate', 'not preserving'];
function worst(a: Verdict, b: Verdict): Verdict {
  return ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b;
}

function theoryOf(
  spec: MethodSpec,
  source: ModelConfig,
  s: Dims,
  t: Dims,
  depth: DepthMode | undefined,
  widthGrows: boolean,
): { verdict: Verdict; why: string } {
  let verdict: Verdict = 'exact';
  const why: string[] = [];
  const hiddenGrows = t.hidden > s.hidden;
  if (widthGrows) {
    if (spec.mapping === 'tile') why.push('n-fold cloning keeps every hidden state as n copies (exact)');
    else if (spec.masked) {
      const at0 = 'masked growth: at ramp 0 every new entry is masked to zero, so the masked model is the zero-pad function';
      if (hiddenGrows && source.family === 'gpt2') {
        verdict = 'approximate';
        why.push(
          `${at0}; the zero hidden units still change LayerNorm's mean and variance (approximate: MSG's LayerNorm over the old units only is not implemented)`,
        );
      } else why.push(hiddenGrows ? `${at0}, exact under RMSNorm with gains x sqrt(d/D) and eps x d/D` : `${at0}, exact (the new units are silent)`);
      why.push('during the ramp (scion train --mask-ramp K) the new entries are scaled by min(1, step/K); after it the model is the random-pad model');
    } else if (spec.aki) {
      verdict = 'not preserving';
      why.push("AKI fills added units from the next block's weights (not function-preserving)");
    } else if (spec.mapping === 'net2net') {
      if (hiddenGrows) {
        verdict = 'approximate';
        why.push('uneven duplication of hidden units changes the norm statistics (approximate)');
      } else why.push('duplicated MLP units/heads with fan-out divided by the copy count (exact)');
    } else if (spec.pad === 'random') {
      verdict = 'approximate';
      why.push('small random values in new entries perturb the function (approximate)');
    } else if (hiddenGrows && source.family === 'gpt2') {
      verdict = 'approximate';
      why.push("zero-padded hidden units change LayerNorm's mean and variance (approximate)");
    } else why.push(hiddenGrows ? 'zero pad under RMSNorm with gains x sqrt(d/D) and eps x d/D (exact)' : 'new units have zero fan-out (exact)');
  }
  if (depth === 'identity')
    why.push(spec.masked ? 'new blocks have masked (small random) residual writers (exact at ramp 0)' : 'new blocks have zero residual writers (exact)');
  if (depth === 'stack' || depth === 'interpolate') {
    verdict = worst(verdict, 'not preserving');
    why.push(`${depth === 'stack' ? 'stacked' : 'interpolated'} blocks add their updates twice (not function-preserving)`);
  }
  return { verdict, why: why.join('; ') };
}

const GROW_KEYS = [
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
  'negativeControl',
] as const;

/** Only the growth options of a larger options object (no callbacks or CLI flags). */
function pickGrowOptions(opts: GrowOptions): GrowOptions {
  const out: Record<string, unknown> = {};
  for (const k of GROW_KEYS) if (opts[k] !== undefined) out[k] = opts[k];
  return out as unknown as GrowOptions;
}

/** Builds the full plan; throws ScionError for impossible or meaningless requests. */
export function makePlan(source: ModelConfig, opts: GrowOptions): GrowthPlan {
  checkGrowthSize(source, opts); // before any axis map is built
  const spec = methodSpec(opts.method);
  const s = dimsOf(source);
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed) || seed < 0) refuse(`--seed must be a non-negative integer, got ${seed}`);
  const padStd = opts.padStd ?? DEFAULT_PAD_STD;
  let depth = opts.depth;
  if (spec.depth) {
    if (
      opts.hidden !== undefined ||
      opts.widthMult !== undefined ||
      opts.ffn !== undefined ||
      opts.ffnMult !== undefined ||
      opts.heads !== undefined ||
      opts.kvHeads !== undefined
    ) {
      refuse(
        `--method ${spec.info.name} grows depth only: to widen too, use a width method with --depth ${spec.depth} (e.g. --method hypercloning --width-mult 2 --depth ${spec.depth})`,
      );
    }
    if (depth !== undefined && depth !== spec.depth) refuse(`--method ${spec.info.name} and --depth ${depth} disagree: give one`);
    depth = spec.depth;
    if (opts.layers === undefined) refuse(`--method ${spec.info.name} needs --layers (more than the source's ${s.layers})`);
  }
  if (spec.masked && depth !== undefined && depth !== 'identity') {
    refuse(
      `--method msg masks new entries, but ${depth === 'stack' ? 'stacked' : 'interpolated'} blocks are copies, not new: use --depth identity (new blocks ramp in) or --method ${depth}`,
    );
  }
  if (opts.noiseDb !== undefined && spec.mapping !== 'tile') refuse("--noise-db is HyperCloning's symmetry-breaking noise: use it with --method hypercloning");
  if (opts.noiseDb !== undefined && !Number.isFinite(opts.noiseDb)) refuse(`--noise-db must be a number, got ${opts.noiseDb}`);

  const m = spec.info.name;
  const D = resolveSize('hidden', 'width-mult', s.hidden, opts.hidden, opts.widthMult, s.hidden);
  if (spec.mapping === 'tile' && D % s.hidden !== 0)
    refuse(`hidden ${D} is not a multiple of ${s.hidden}: hypercloning needs an integer multiple (${multiples(s.hidden)}); use zero-pad or a multiple`);
  if ((m === 'mlp-zero' || m === 'add-heads') && D !== s.hidden)
    refuse(`${m} keeps the hidden size ${s.hidden}: to grow hidden to ${D} use zero-pad, net2net or hypercloning`);
  const n = D / s.hidden;
  const ffnFallback = spec.mapping === 'tile' ? s.ffn * n : spec.mapping === 'pad' || spec.mapping === 'net2net' ? Math.round((s.ffn * D) / s.hidden) : s.ffn;
  const F = resolveSize('ffn', 'ffn-mult', s.ffn, opts.ffn, opts.ffnMult, ffnFallback);
  if (spec.mapping === 'tile' && F % s.ffn !== 0)
    refuse(`ffn ${F} is not a multiple of ${s.ffn}: hypercloning needs an integer multiple (${multiples(s.ffn)}); use zero-pad or mlp-zero for other sizes`);
  if (m === 'mlp-zero' && F === s.ffn) refuse(`mlp-zero needs --ffn or --ffn-mult larger than the source's ${s.ffn}`);
  let heads = s.heads;
  let kvHeads = s.kvHeads;
  if (spec.mapping !== 'none') ({ heads, kvHeads } = resolveHeads(source, s, spec, D, n, opts));
  if (m === 'mlp-zero' && heads !== s.heads) refuse('mlp-zero only widens the MLP: use add-heads or zero-pad to add heads');
  const L2 = opts.layers ?? s.layers;
  const layers = layerPlan(depth, s.layers, L2, opts.insertAt);
  const t: Dims = { hidden: D, ffn: F, heads, kvHeads, headDim: s.headDim, layers: L2 };
  const widthGrows = D > s.hidden || F > s.ffn || heads > s.heads || kvHeads > s.kvHeads;
  if (!widthGrows && L2 === s.layers) refuse('nothing to grow: give a larger --hidden/--width-mult, --ffn/--ffn-mult, --heads or --layers');
  if (
    spec.mapping === 'tile' &&
    opts.negativeControl !== 'kv-heads-not-grown' &&
    source.family === 'llama' &&
    heads / s.heads !== kvHeads / s.kvHeads &&
    !(s.kvHeads === 1 && kvHeads === 1)
  ) {
    refuse('hypercloning grows query and KV heads by the same factor');
  }

  const rmsRescale = source.family === 'llama' && spec.mapping === 'pad' && D > s.hidden && opts.negativeControl !== 'rms-pad-no-rescale';
  const rmsGainScale = rmsRescale ? Math.sqrt(s.hidden / D) : 1;
  const tied = source.family === 'gpt2' || source.tieWordEmbeddings;
  const tiedHeadRescale = tied && (spec.mapping === 'tile' || spec.mapping === 'net2net') && opts.negativeControl !== 'tied-head-no-scale';

  const target: ModelConfig =
    source.family === 'gpt2'
      ? { ...source, nEmbd: D, nInner: F, nHead: heads, nLayer: L2 }
      : {
          ...source,
          hiddenSize: D,
          intermediateSize: F,
          numAttentionHeads: heads,
          numKeyValueHeads: kvHeads,
          numHiddenLayers: L2,
          rmsNormEps: rmsRescale ? (source.rmsNormEps * s.hidden) / D : source.rmsNormEps,
        };
  const { q, kv } =
    spec.mapping === 'none'
      ? { q: identityMap(s.heads * s.headDim, 'internal'), kv: identityMap(s.kvHeads * s.headDim, 'internal') }
      : headMaps(spec, s, heads, kvHeads, seed);
  const vocab = source.vocabSize;
  const ctx = source.family === 'gpt2' ? source.nPositions : source.maxPositionEmbeddings;
  const plan: GrowthPlan = {
    method: m,
    spec,
    resolved: { ...pickGrowOptions(opts), method: m, seed, padStd, hidden: D, ffn: F, heads, kvHeads, layers: L2, ...(depth ? { depth } : {}) },
    source,
    target,
    sourceDims: s,
    targetDims: t,
    maps: {
      hidden: spec.mapping === 'none' ? identityMap(D, 'hidden') : unitAxis(spec, s.hidden, D, 'hidden', seed, 'hidden'),
      ffn: spec.mapping === 'none' ? identityMap(F, 'internal') : unitAxis(spec, s.ffn, F, 'internal', seed, 'ffn'),
      q,
      kv,
      vocab: identityMap(vocab),
      positions: identityMap(ctx),
    },
    layers,
    rmsGainScale,
    tiedHeadRescale,
    theory: theoryOf(spec, source, s, t, depth, widthGrows),
  };
  if (opts.noiseDb !== undefined) plan.noiseDb = opts.noiseDb;
  if (opts.negativeControl) plan.negativeControl = opts.negativeControl;
  return plan;
}

/** The target config of a growth request (validated; throws ScionError saying why and what would work). */
export function planGrowth(source: ModelConfig, opts: GrowOptions): ModelConfig {
  return makePlan(source, opts).target;
}
