/**
 * Resolves a growth request into a plan: the target config, how every axis maps (hidden, MLP,
 * query heads, KV heads), which source block feeds every target block, and what the theory
 * says about the function. The method's family planner (methods/) decides what is particular
 * to it; the steps and the shared size and layer logic (sizes.ts) are the same for all.
 * Impossible shapes are refused with what would work.
 */
import { type ModelConfig, contextLength, isLlamaShaped } from '../models/config.ts';
import { type AxisMap, identityMap } from './axis.ts';
import { checkOptGrowth, optTargetProjDim } from './compose-opt.ts';
import { type MethodSpec, methodSpec } from './methods/index.ts';
import { DEFAULT_PAD_STD, DEFAULT_SEED, type DepthMode, type GrowOptions, type Verdict, pickGrowOptions } from './options.ts';
import { checkGrowthSize } from './size-check.ts';
import { type Dims, type LayerSource, dimsOf, layerPlan, refuse, resolveSize } from './sizes.ts';

export type { Dims, LayerSource } from './sizes.ts';

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
  /**
   * Multiplier on the copied embedding (Gemma: sqrt(d) / sqrt(D), both rounded to float32 as
   * transformers casts them, so x sqrt(D) of the grown embedding equals x sqrt(d) of the
   * source's); 1 for every other family. A tied head reads it too: the final norm divides it out.
   */
  embedScale: number;
  /**
   * The grown model unties its head (lm_head = the tiled embedding, fan-in scaled): a tied head
   * behind a final norm without a gain (OLMo) has nowhere else to take the 1/n of n-fold tiling.
   */
  untieHead: boolean;
  /** HyperCloning noise level in dB, if asked for. */
  noiseDb?: number;
  theory: { verdict: Verdict; why: string };
}

const ORDER: Verdict[] = ['exact', 'approximate', 'not preserving'];
function worst(a: Verdict, b: Verdict): Verdict {
  return ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b;
}

/** The width theory of the method's planner, then what the new blocks do. */
function theoryOf(
  spec: MethodSpec,
  source: ModelConfig,
  s: Dims,
  t: Dims,
  depth: DepthMode | undefined,
  widthGrows: boolean,
): { verdict: Verdict; why: string } {
  const width = widthGrows ? spec.planner.theory(source, s, t) : { verdict: 'exact' as Verdict, why: [] };
  let verdict = width.verdict;
  const why = [...width.why];
  if (depth === 'identity') why.push(spec.planner.identityBlocks);
  if (depth === 'stack' || depth === 'interpolate') {
    verdict = worst(verdict, 'not preserving');
    why.push(`${depth === 'stack' ? 'stacked' : 'interpolated'} blocks add their updates twice (not function-preserving)`);
  }
  return { verdict, why: why.join('; ') };
}

/** The target config: the source's with the new sizes (and, under RMSNorm zero pad, eps x d/D). */
function targetConfig(source: ModelConfig, s: Dims, t: Dims, rmsGainScale: number): ModelConfig {
  if (source.family === 'gpt2') return { ...source, nEmbd: t.hidden, nInner: t.ffn, nHead: t.heads, nLayer: t.layers };
  if (source.family === 'gpt_neox') return { ...source, hiddenSize: t.hidden, intermediateSize: t.ffn, numAttentionHeads: t.heads, numHiddenLayers: t.layers };
  if (source.family === 'opt')
    return {
      ...source,
      hiddenSize: t.hidden,
      ffnDim: t.ffn,
      numAttentionHeads: t.heads,
      numHiddenLayers: t.layers,
      wordEmbedProjDim: optTargetProjDim(source, t.hidden),
    };
  return {
    ...source,
    hiddenSize: t.hidden,
    intermediateSize: t.ffn,
    numAttentionHeads: t.heads,
    numKeyValueHeads: t.kvHeads,
    numHiddenLayers: t.layers,
    rmsNormEps: rmsGainScale === 1 ? source.rmsNormEps : (source.rmsNormEps * s.hidden) / t.hidden,
  };
}

/** Builds the full plan; throws ScionError for impossible or meaningless requests. */
export function makePlan(source: ModelConfig, opts: GrowOptions): GrowthPlan {
  checkGrowthSize(source, opts); // before any axis map is built
  const spec = methodSpec(opts.method);
  const planner = spec.planner;
  const s = dimsOf(source);
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed) || seed < 0) refuse(`--seed must be a non-negative integer, got ${seed}`);
  const padStd = opts.padStd ?? DEFAULT_PAD_STD;

  // 1. the request as given, then the sizes, each checked by the method's planner
  const depth = planner.depth(opts, s);
  if (opts.noiseDb !== undefined && !planner.noise) refuse("--noise-db is HyperCloning's symmetry-breaking noise: use it with --method hypercloning");
  if (opts.noiseDb !== undefined && !Number.isFinite(opts.noiseDb)) refuse(`--noise-db must be a number, got ${opts.noiseDb}`);
  const D = resolveSize('hidden', 'width-mult', s.hidden, opts.hidden, opts.widthMult, s.hidden);
  planner.checkHidden(s, D);
  const F = resolveSize('ffn', 'ffn-mult', s.ffn, opts.ffn, opts.ffnMult, planner.defaultFfn(s, D));
  planner.checkFfn(s, F);
  const { heads, kvHeads } = planner.heads(source, s, D, opts);
  const L2 = opts.layers ?? s.layers;
  const layers = layerPlan(depth, s.layers, L2, opts.insertAt);
  const t: Dims = { hidden: D, ffn: F, heads, kvHeads, headDim: s.headDim, layers: L2 };
  const widthGrows = D > s.hidden || F > s.ffn || heads > s.heads || kvHeads > s.kvHeads;
  if (!widthGrows && L2 === s.layers) refuse('nothing to grow: give a larger --hidden/--width-mult, --ffn/--ffn-mult, --heads or --layers');
  planner.checkTarget(source, s, t);
  if (source.family === 'opt') checkOptGrowth(source, t, depth);

  // 2. the target, the axis maps and the norm rescaling
  const rmsGainScale = isLlamaShaped(source) ? planner.rmsGainScale(s, t) : 1;
  const tied = source.family === 'gpt2' || ((isLlamaShaped(source) || source.family === 'opt') && source.tieWordEmbeddings);
  const ctx = contextLength(source);
  const embedScale = isLlamaShaped(source) && source.embedScale ? Math.fround(Math.sqrt(s.hidden)) / Math.fround(Math.sqrt(D)) : 1;
  const untieHead = tied && isLlamaShaped(source) && source.nonParametricNorm === true && planner.tiedHeadRescale && D > s.hidden;
  const sized = targetConfig(source, s, t, rmsGainScale);
  // Gemma 3: each target block attends as the source block it comes from (sliding or full)
  const target = isLlamaShaped(sized) && sized.slidingLayers ? { ...sized, slidingLayers: layers.map((l) => sized.slidingLayers![l.src]!) } : sized;
  const plan: GrowthPlan = {
    method: spec.info.name,
    spec,
    resolved: { ...pickGrowOptions(opts), method: spec.info.name, seed, padStd, hidden: D, ffn: F, heads, kvHeads, layers: L2, ...(depth ? { depth } : {}) },
    source,
    target: untieHead && isLlamaShaped(target) ? { ...target, tieWordEmbeddings: false } : target,
    sourceDims: s,
    targetDims: t,
    maps: { ...planner.maps(s, t, seed), vocab: identityMap(source.vocabSize), positions: identityMap(ctx) },
    layers,
    rmsGainScale,
    tiedHeadRescale: tied && planner.tiedHeadRescale && !untieHead,
    embedScale,
    untieHead,
    theory: theoryOf(spec, source, s, t, depth, widthGrows),
  };
  if (untieHead)
    plan.theory.why += "; the tied head is untied (lm_head = the widened embedding, fan-in scaled): OLMo's final LayerNorm has no gain to take the copies' 1/n";
  if (opts.noiseDb !== undefined) plan.noiseDb = opts.noiseDb;
  return plan;
}

/** The target config of a growth request (validated; throws ScionError saying why and what would work). */
export function planGrowth(source: ModelConfig, opts: GrowOptions): ModelConfig {
  return makePlan(source, opts).target;
}
