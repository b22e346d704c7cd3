/**
 * The config fields every Llama-shaped family (Llama, Qwen2, Qwen3, Mistral) shares, read from
 * and written back to config.json as transformers names them: sizes, grouped KV heads,
 * head_dim, RMSNorm eps, RoPE (default or Llama 3 scaling) and a tied or untied head. Each
 * family's file (llama.ts, qwen2.ts, qwen3.ts, mistral.ts) adds its own fields and refusals.
 */
import type { Llama3RopeScaling, LlamaConfig, LlamaFamily } from './config.ts';
import { type Json, bad, int, num, specialTokens } from './config-fields.ts';

/** How a family reads and writes its config.json (the registry in config.ts lists them). */
export interface FamilyConfigSpec<C extends { family: string }> {
  family: C['family'];
  /** The family's name as people say it ("Qwen2"). */
  name: string;
  architecture: string;
  modelType: string;
  parse(raw: Json, file: string): C;
  toHF(cfg: C, base: Json): Json;
}

/** The default RoPE, or Llama 3's scaling; any other type is refused with its name. */
function parseRopeScaling(raw: Json, file: string): Llama3RopeScaling | undefined {
  const legacy = raw['rope_scaling'];
  const params = raw['rope_parameters'];
  const field = legacy !== undefined && legacy !== null ? 'rope_scaling' : 'rope_parameters';
  const spec = (field === 'rope_scaling' ? legacy : params) as Json | undefined | null;
  if (spec === undefined || spec === null) return undefined;
  if (typeof spec !== 'object') bad(file, field, spec, 'expected an object');
  const type = spec['rope_type'] ?? spec['type'] ?? 'default';
  if (type === 'default') return undefined;
  if (type !== 'llama3') bad(file, `${field}.rope_type`, type, 'implemented: default, llama3');
  const n = (key: string): number => {
    const v = spec[key];
    if (typeof v !== 'number' || !(v > 0)) bad(file, `${field}.${key}`, v, 'expected a positive number');
    return v;
  };
  const scaling: Llama3RopeScaling = {
    type: 'llama3',
    factor: n('factor'),
    lowFreqFactor: n('low_freq_factor'),
    highFreqFactor: n('high_freq_factor'),
    originalMaxPositionEmbeddings: n('original_max_position_embeddings'),
  };
  if (scaling.highFreqFactor <= scaling.lowFreqFactor) bad(file, `${field}.high_freq_factor`, scaling.highFreqFactor, 'must exceed low_freq_factor');
  return scaling;
}

export interface DecoderDefaults {
  /** head_dim when config.json has none (hidden / heads, except Qwen3's 128). */
  headDim?: number;
  rmsNormEps: number;
  maxPositionEmbeddings: number;
}

/** The shared fields of a Llama-shaped config.json; SwiGLU with silu is the only MLP. */
export function parseDecoder(raw: Json, file: string, family: LlamaFamily, defaults: DecoderDefaults): LlamaConfig {
  const act = raw['hidden_act'];
  if (act !== undefined && act !== null && act !== 'silu') bad(file, 'hidden_act', act, 'only silu (SwiGLU) is implemented');
  const ropeParams = raw['rope_parameters'] as Json | undefined;
  const ropeScaling = parseRopeScaling(raw, file);
  const ropeTheta = (raw['rope_theta'] as number | undefined) ?? (ropeParams?.['rope_theta'] as number | undefined) ?? 10000;
  if (typeof ropeTheta !== 'number' || !(ropeTheta > 0)) bad(file, 'rope_theta', ropeTheta, 'expected a positive number');
  const hidden = int(raw, file, 'hidden_size');
  const heads = int(raw, file, 'num_attention_heads');
  const kvHeads = int(raw, file, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) bad(file, 'num_key_value_heads', kvHeads, `num_attention_heads ${heads} is not a multiple of it`);
  const headDimDefault = defaults.headDim ?? (hidden % heads === 0 ? hidden / heads : undefined);
  const headDim = raw['head_dim'] === null ? (headDimDefault ?? 0) : int(raw, file, 'head_dim', headDimDefault);
  if (headDim % 2 !== 0) bad(file, 'head_dim', headDim, 'RoPE needs an even head_dim');
  return {
    family,
    vocabSize: int(raw, file, 'vocab_size'),
    hiddenSize: hidden,
    intermediateSize: int(raw, file, 'intermediate_size'),
    numHiddenLayers: int(raw, file, 'num_hidden_layers'),
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    maxPositionEmbeddings: int(raw, file, 'max_position_embeddings', defaults.maxPositionEmbeddings),
    rmsNormEps: num(raw, file, 'rms_norm_eps', defaults.rmsNormEps),
    ropeTheta,
    ...(ropeScaling ? { ropeScaling } : {}),
    tieWordEmbeddings: raw['tie_word_embeddings'] === true,
  };
}

/** Refuses `layer_types` (transformers 4.53+) naming any layer that is not full attention. */
export function requireFullAttention(raw: Json, file: string): void {
  const types = raw['layer_types'];
  if (types === undefined || types === null) return;
  if (!Array.isArray(types)) bad(file, 'layer_types', types, 'expected a list');
  const i = types.findIndex((t) => t !== 'full_attention');
  if (i >= 0) bad(file, `layer_types[${i}]`, types[i], 'only full_attention layers are implemented');
}

/** The shared fields written back: `base` (the source's config.json) keeps what Scion does not model. */
export function decoderHF(cfg: LlamaConfig, base: Json, architecture: string, modelType: string): Json {
  const out: Json = {
    architectures: [architecture],
    model_type: modelType,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    intermediate_size: cfg.intermediateSize,
    num_hidden_layers: cfg.numHiddenLayers,
    num_attention_heads: cfg.numAttentionHeads,
    num_key_value_heads: cfg.numKeyValueHeads,
    head_dim: cfg.headDim,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    rms_norm_eps: cfg.rmsNormEps,
    rope_theta: cfg.ropeTheta,
    hidden_act: 'silu',
    tie_word_embeddings: cfg.tieWordEmbeddings,
    ...specialTokens(cfg.vocabSize, base),
    dtype: 'float32',
  };
  const scaling = cfg.ropeScaling
    ? {
        rope_type: 'llama3',
        factor: cfg.ropeScaling.factor,
        low_freq_factor: cfg.ropeScaling.lowFreqFactor,
        high_freq_factor: cfg.ropeScaling.highFreqFactor,
        original_max_position_embeddings: cfg.ropeScaling.originalMaxPositionEmbeddings,
      }
    : undefined;
  if (base['rope_parameters'] !== undefined) out['rope_parameters'] = { rope_theta: cfg.ropeTheta, ...(scaling ?? { rope_type: 'default' }) };
  else out['rope_scaling'] = scaling ?? null;
  return out;
}

/** Every layer full attention, as transformers writes `layer_types` (its length must match the layers). */
export function fullAttentionLayers(cfg: LlamaConfig): string[] {
  return new Array<string>(cfg.numHiddenLayers).fill('full_attention');
}
