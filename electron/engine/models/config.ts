/**
 * Typed model configs for the two families Scion supports, parsed from (and written back
 * to) Hugging Face `config.json`. Anything we do not implement is refused with the field
 * and its value named, never silently ignored.
 */
import { ScionError } from '../errors.ts';
import type { ModelShape } from './shape.ts';

export type { ModelShape } from './shape.ts';

export interface GPT2Config {
  family: 'gpt2';
  vocabSize: number; // vocab_size
  nPositions: number; // n_positions: learned position table length (the context)
  nEmbd: number; // n_embd: hidden size d
  nLayer: number; // n_layer
  nHead: number; // n_head: attention heads (head_dim = nEmbd / nHead)
  nInner: number; // n_inner: MLP inner size (null in HF means 4 * n_embd)
  layerNormEpsilon: number; // layer_norm_epsilon
  activation: 'gelu_new' | 'gelu'; // activation_function: tanh form, or the exact erf form
}

export interface LlamaConfig {
  family: 'llama';
  vocabSize: number; // vocab_size
  hiddenSize: number; // hidden_size: d
  intermediateSize: number; // intermediate_size: SwiGLU inner size
  numHiddenLayers: number; // num_hidden_layers
  numAttentionHeads: number; // num_attention_heads
  numKeyValueHeads: number; // num_key_value_heads (GQA when < heads)
  headDim: number; // head_dim (default hidden / heads)
  maxPositionEmbeddings: number; // max_position_embeddings: the context
  rmsNormEps: number; // rms_norm_eps
  ropeTheta: number; // rope_theta (or rope_parameters.rope_theta)
  ropeScaling?: Llama3RopeScaling; // rope_scaling / rope_parameters with rope_type 'llama3' (Llama 3.1+)
  tieWordEmbeddings: boolean; // tie_word_embeddings
}

/** Llama 3.1's frequency-dependent RoPE scaling (transformers' `_compute_llama3_parameters`). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export type ModelConfig = GPT2Config | LlamaConfig;

/** Small presets, for tests and from-scratch models; the two `*-tiny` ones are the bench configs of issues 4 and 7. */
export const PRESETS: Record<string, ModelConfig> = {
  'gpt2-tiny': { family: 'gpt2', vocabSize: 256, nPositions: 64, nEmbd: 128, nLayer: 4, nHead: 4, nInner: 512, layerNormEpsilon: 1e-5, activation: 'gelu_new' },
  'llama-tiny': {
    family: 'llama',
    vocabSize: 256,
    hiddenSize: 128,
    intermediateSize: 344,
    numHiddenLayers: 4,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    headDim: 32,
    maxPositionEmbeddings: 64,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
  },
};

type Json = Record<string, unknown>;

function bad(file: string, field: string, value: unknown, why: string): never {
  throw new ScionError(`${file}: ${field} = ${JSON.stringify(value)} is not supported: ${why}`, 'E_CONFIG', file);
}

function int(raw: Json, file: string, field: string, fallback?: number): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    if (v === undefined) throw new ScionError(`${file}: required field ${field} is missing`, 'E_CONFIG', file);
    bad(file, field, v, 'expected a positive integer');
  }
  return v;
}

function num(raw: Json, file: string, field: string, fallback?: number): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    if (v === undefined) throw new ScionError(`${file}: required field ${field} is missing`, 'E_CONFIG', file);
    bad(file, field, v, 'expected a positive number');
  }
  return v;
}

function requireValue(raw: Json, file: string, field: string, allowed: unknown[], why: string): void {
  const v = raw[field];
  if (v === undefined || v === null) return;
  if (!allowed.includes(v)) bad(file, field, v, why);
}

function parseGPT2(raw: Json, file: string): GPT2Config {
  const act = raw['activation_function'] ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu' && act !== 'gelu_pytorch_tanh') {
    bad(file, 'activation_function', act, 'supported: gelu_new, gelu_pytorch_tanh, gelu');
  }
  requireValue(raw, file, 'scale_attn_by_inverse_layer_idx', [false], 'only false is implemented');
  requireValue(raw, file, 'scale_attn_weights', [true], 'only true is implemented');
  requireValue(raw, file, 'add_cross_attention', [false], 'only decoder-only models are supported');
  requireValue(raw, file, 'tie_word_embeddings', [true], 'GPT2LMHeadModel ties its head to wte');
  const nEmbd = int(raw, file, 'n_embd');
  const nHead = int(raw, file, 'n_head');
  if (nEmbd % nHead !== 0) bad(file, 'n_head', nHead, `n_embd ${nEmbd} is not divisible by it`);
  const inner = raw['n_inner'];
  return {
    family: 'gpt2',
    vocabSize: int(raw, file, 'vocab_size'),
    nPositions: int(raw, file, 'n_positions', raw['n_ctx'] as number | undefined),
    nEmbd,
    nLayer: int(raw, file, 'n_layer'),
    nHead,
    nInner: inner === null || inner === undefined ? 4 * nEmbd : int(raw, file, 'n_inner'),
    layerNormEpsilon: num(raw, file, 'layer_norm_epsilon', 1e-5),
    activation: act === 'gelu' ? 'gelu' : 'gelu_new',
  };
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

function parseLlama(raw: Json, file: string): LlamaConfig {
  requireValue(raw, file, 'hidden_act', ['silu'], 'only silu (SwiGLU) is implemented');
  requireValue(raw, file, 'attention_bias', [false], 'attention biases are not implemented');
  requireValue(raw, file, 'mlp_bias', [false], 'MLP biases are not implemented');
  requireValue(raw, file, 'pretraining_tp', [1], 'only pretraining_tp = 1 is implemented');
  const ropeParams = raw['rope_parameters'] as Json | undefined;
  const ropeScaling = parseRopeScaling(raw, file);
  const ropeTheta = (raw['rope_theta'] as number | undefined) ?? (ropeParams?.['rope_theta'] as number | undefined) ?? 10000;
  if (typeof ropeTheta !== 'number' || !(ropeTheta > 0)) bad(file, 'rope_theta', ropeTheta, 'expected a positive number');
  const hidden = int(raw, file, 'hidden_size');
  const heads = int(raw, file, 'num_attention_heads');
  const kvHeads = int(raw, file, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) bad(file, 'num_key_value_heads', kvHeads, `num_attention_heads ${heads} is not a multiple of it`);
  const headDimDefault = hidden % heads === 0 ? hidden / heads : undefined;
  const headDim = raw['head_dim'] === null ? (headDimDefault ?? 0) : int(raw, file, 'head_dim', headDimDefault);
  if (headDim % 2 !== 0) bad(file, 'head_dim', headDim, 'RoPE needs an even head_dim');
  return {
    family: 'llama',
    vocabSize: int(raw, file, 'vocab_size'),
    hiddenSize: hidden,
    intermediateSize: int(raw, file, 'intermediate_size'),
    numHiddenLayers: int(raw, file, 'num_hidden_layers'),
    numAttentionHeads: heads,
    numKeyValueHeads: kvHeads,
    headDim,
    maxPositionEmbeddings: int(raw, file, 'max_position_embeddings', 2048),
    rmsNormEps: num(raw, file, 'rms_norm_eps', 1e-6),
    ropeTheta,
    ...(ropeScaling ? { ropeScaling } : {}),
    tieWordEmbeddings: raw['tie_word_embeddings'] === true,
  };
}

/** Parses a Hugging Face config.json object. `file` is named in every error. */
export function parseHFConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null) throw new ScionError(`${file}: not a JSON object`, 'E_CONFIG', file);
  const r = raw as Json;
  const archs = r['architectures'];
  const arch = Array.isArray(archs) ? archs[0] : undefined;
  const type = r['model_type'];
  if (arch === 'GPT2LMHeadModel' || (arch === undefined && type === 'gpt2')) return parseGPT2(r, file);
  if (arch === 'LlamaForCausalLM' || (arch === undefined && type === 'llama')) return parseLlama(r, file);
  if (arch !== undefined) bad(file, 'architectures', archs, 'supported: GPT2LMHeadModel, LlamaForCausalLM');
  bad(file, 'model_type', type, 'supported: gpt2, llama');
}

/**
 * Token ids a config names must lie inside the vocabulary; transformers' defaults (GPT-2's
 * 50256) do not for a small model made from scratch, so those are written as null.
 */
function specialTokens(cfg: ModelConfig, base: Json): Json {
  const out: Json = {};
  for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id']) {
    const v = base[k];
    out[k] = typeof v === 'number' && v >= 0 && v < cfg.vocabSize ? v : null;
  }
  return out;
}

/** The Hugging Face config.json for a config; `base` keeps fields we do not model. */
export function toHFConfig(cfg: ModelConfig, base: Json = {}): Json {
  if (cfg.family === 'gpt2') {
    return {
      ...base,
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: cfg.vocabSize,
      n_positions: cfg.nPositions,
      n_ctx: cfg.nPositions,
      n_embd: cfg.nEmbd,
      n_layer: cfg.nLayer,
      n_head: cfg.nHead,
      n_inner: cfg.nInner,
      layer_norm_epsilon: cfg.layerNormEpsilon,
      activation_function: cfg.activation,
      tie_word_embeddings: true,
      scale_attn_weights: true,
      scale_attn_by_inverse_layer_idx: false,
      attn_pdrop: base['attn_pdrop'] ?? 0,
      embd_pdrop: base['embd_pdrop'] ?? 0,
      resid_pdrop: base['resid_pdrop'] ?? 0,
      ...specialTokens(cfg, base),
      dtype: 'float32',
    };
  }
  const out: Json = {
    ...base,
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
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
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    ...specialTokens(cfg, base),
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

/** The one projection of a config to its shape numbers (growth, reports, training and the store read it). */
export function modelShape(cfg: ModelConfig): ModelShape {
  return cfg.family === 'gpt2'
    ? {
        family: 'gpt2',
        hidden: cfg.nEmbd,
        layers: cfg.nLayer,
        heads: cfg.nHead,
        kvHeads: cfg.nHead,
        ffn: cfg.nInner,
        ctx: cfg.nPositions,
        vocab: cfg.vocabSize,
      }
    : {
        family: 'llama',
        hidden: cfg.hiddenSize,
        layers: cfg.numHiddenLayers,
        heads: cfg.numAttentionHeads,
        kvHeads: cfg.numKeyValueHeads,
        ffn: cfg.intermediateSize,
        ctx: cfg.maxPositionEmbeddings,
        vocab: cfg.vocabSize,
      };
}

/** Width of one attention head (GPT-2: hidden / heads; Llama: head_dim). */
export function headDimOf(cfg: ModelConfig): number {
  return cfg.family === 'gpt2' ? cfg.nEmbd / cfg.nHead : cfg.headDim;
}

export function contextLength(cfg: ModelConfig): number {
  return cfg.family === 'gpt2' ? cfg.nPositions : cfg.maxPositionEmbeddings;
}
