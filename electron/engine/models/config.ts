/**
 * Typed model configs for the two families Scion supports, parsed from (and written back
 * to) Hugging Face `config.json`. Anything we do not implement is refused with the field
 * and its value named, never silently ignored.
 */
import { ScionError } from '../errors.ts';
import { type Json, bad, int, num, requireValue, specialTokens } from './config-fields.ts';
import type { FamilyConfigSpec } from './decoder-config.ts';
import { llamaFamily } from './llama.ts';
import { mistralFamily } from './mistral.ts';
import { neoxFamily } from './neox.ts';
import { gemmaFamily } from './gemma.ts';
import { gemma3Family } from './gemma3.ts';
import { olmoFamily } from './olmo.ts';
import { olmo2Family } from './olmo2.ts';
import { optFamily } from './opt.ts';
import { phi3Family } from './phi3.ts';
import { qwen2Family } from './qwen2.ts';
import { qwen3Family } from './qwen3.ts';
import type { ModelShape } from './shape.ts';

export type { ModelShape } from './shape.ts';
export { FAMILY_IDS } from './shape.ts';

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

/** The Llama-shaped families: one decoder (llama.ts) with each family's switches below. */
export type LlamaFamily = Exclude<ModelShape['family'], 'gpt2' | 'gpt_neox' | 'opt'>;

export interface LlamaConfig {
  family: LlamaFamily;
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
  /** Qwen2: biases on the q, k and v projections (not on o). */
  qkvBias?: boolean;
  /** Qwen3: RMSNorm over each head's q and k (weights [head_dim]), before RoPE. */
  qkNorm?: boolean;
  /** Mistral: sliding_window, each token attends to itself and the window - 1 tokens before it. */
  slidingWindow?: number;
  /** Phi-3: q/k/v stored fused in `qkv_proj` and gate/up in `gate_up_proj` (same function as Llama's separate ones). */
  fusedProjections?: boolean;
  /** Phi-3: partial_rotary_factor < 1 rotates only the first rotaryDims of each head (the rest pass through). */
  rotaryDims?: number;
  /** Gemma: RMSNorm gains stored as weight - 1 (the norm multiplies by 1 + weight). */
  normGainOffset?: 1;
  /** Gemma: the embedding output times sqrt(hidden_size) (rounded to float32, as transformers casts it). */
  embedScale?: boolean;
  /** Gemma: GeGLU with the tanh GELU (gelu_pytorch_tanh) instead of SwiGLU. */
  mlpActivation?: 'gelu_tanh';
  /** OLMo: LayerNorm without weight or bias (eps 1e-5) in place of every RMSNorm; no norm tensors. */
  nonParametricNorm?: boolean;
  /** OLMo: q, k and v clamped to [-clip_qkv, clip_qkv] after their projections. */
  clipQkv?: number;
  /** OLMo2: RMSNorm on the attention and MLP outputs before the residual add, none on their inputs. */
  postNorm?: boolean;
  /** OLMo2: RMSNorm over the whole q and k projections (weights [heads x head_dim], [kv_heads x head_dim]), before RoPE. */
  qkNormFull?: boolean;
  /** Gemma 3: a norm before and after each sublayer (post_attention_layernorm on the attention output, pre_/post_feedforward_layernorm around the MLP). */
  sandwichNorm?: boolean;
  /** Gemma 3: attention scores scaled by query_pre_attn_scalar^-1/2 instead of head_dim^-1/2. */
  queryPreAttnScalar?: number;
  /** Gemma 3: which layers use `slidingWindow` (the others attend to everything before); absent: all (Mistral). */
  slidingLayers?: boolean[];
  /** Gemma 3: the RoPE base of the sliding layers (rope_local_base_freq). */
  ropeLocalTheta?: number;
}

/** Llama 3.1's frequency-dependent RoPE scaling (transformers' `_compute_llama3_parameters`). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface NeoXConfig {
  family: 'gpt_neox';
  vocabSize: number; // vocab_size
  hiddenSize: number; // hidden_size: d
  intermediateSize: number; // intermediate_size: MLP inner size
  numHiddenLayers: number; // num_hidden_layers
  numAttentionHeads: number; // num_attention_heads (head_dim = hidden / heads)
  maxPositionEmbeddings: number; // max_position_embeddings: the context
  layerNormEps: number; // layer_norm_eps
  rotaryPct: number; // rotary_pct (or rope_parameters.partial_rotary_factor)
  rotaryDims: number; // floor(head_dim x rotary_pct): the rotated dims of each head
  ropeTheta: number; // rotary_emb_base (or rope_parameters.rope_theta)
  parallelResidual: boolean; // use_parallel_residual
  activation: 'gelu' | 'gelu_new'; // hidden_act
}

export interface OPTConfig {
  family: 'opt';
  vocabSize: number; // vocab_size
  hiddenSize: number; // hidden_size: d
  ffnDim: number; // ffn_dim: MLP inner size
  numHiddenLayers: number; // num_hidden_layers
  numAttentionHeads: number; // num_attention_heads (head_dim = hidden / heads)
  maxPositionEmbeddings: number; // max_position_embeddings: the context (the position table has 2 more rows)
  wordEmbedProjDim: number; // word_embed_proj_dim: token embedding width (project_in/project_out when != hidden)
  doLayerNormBefore: boolean; // do_layer_norm_before: pre-LN (125M, 1.3B...) or post-LN (350M)
  enableBias: boolean; // enable_bias: biases on q/k/v/out and fc1/fc2
  layerNormElementwiseAffine: boolean; // layer_norm_elementwise_affine: LayerNorm gains and biases stored
  tieWordEmbeddings: boolean; // tie_word_embeddings: lm_head reads embed_tokens
  activation: 'relu' | 'gelu' | 'gelu_new'; // activation_function
}

export type ModelConfig = GPT2Config | LlamaConfig | NeoXConfig | OPTConfig;

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

function gpt2HF(cfg: GPT2Config, base: Json): Json {
  return {
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
    ...specialTokens(cfg.vocabSize, base),
    dtype: 'float32',
  };
}

const gpt2Family: FamilyConfigSpec<GPT2Config> = {
  family: 'gpt2',
  name: 'GPT-2',
  architecture: 'GPT2LMHeadModel',
  modelType: 'gpt2',
  parse: parseGPT2,
  toHF: gpt2HF,
};

/** The families Scion reads, each from its own file (gpt2 above; llama.ts, qwen2.ts, qwen3.ts, mistral.ts, neox.ts, opt.ts, phi3.ts, gemma.ts, gemma3.ts, olmo.ts, olmo2.ts). */
const FAMILIES: FamilyConfigSpec<ModelConfig>[] = [
  gpt2Family,
  llamaFamily,
  qwen2Family,
  qwen3Family,
  mistralFamily,
  neoxFamily,
  optFamily,
  phi3Family,
  gemmaFamily,
  gemma3Family,
  olmoFamily,
  olmo2Family,
];

/** Families people own that Scion does not read yet: refused by name. */
const NOT_YET: Array<{ name: string; architectures: string[]; modelTypes: string[] }> = [
  { name: 'Gemma 2', architectures: ['Gemma2ForCausalLM'], modelTypes: ['gemma2'] },
  { name: 'Gemma 3 with vision (Gemma3ForCausalLM, the text model, is read)', architectures: ['Gemma3ForConditionalGeneration'], modelTypes: ['gemma3'] },
];

/** The family's name as people say it ("Qwen2"), for `scion info` and the app. */
export function familyName(family: ModelConfig['family']): string {
  return FAMILIES.find((f) => f.family === family)?.name ?? family;
}

/** Parses a Hugging Face config.json object. `file` is named in every error. */
export function parseHFConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null) throw new ScionError(`${file}: not a JSON object`, 'E_CONFIG', file);
  const r = raw as Json;
  const archs = r['architectures'];
  const arch = Array.isArray(archs) ? archs[0] : undefined;
  const type = r['model_type'];
  const byArch = arch !== undefined;
  const family = FAMILIES.find((f) => (byArch ? f.architecture === arch : f.modelType === type));
  if (family) return family.parse(r, file);
  const [field, value] = byArch ? ['architectures', archs] : ['model_type', type];
  const supported = `supported: ${FAMILIES.map((f) => (byArch ? f.architecture : f.modelType)).join(', ')}`;
  const known = NOT_YET.find((f) => (byArch ? f.architectures.includes(String(arch)) : f.modelTypes.includes(String(type))));
  if (known) bad(file, field, value, `${known.name} is a family Scion does not read yet (${supported})`);
  bad(file, field, value, supported);
}

/** The Hugging Face config.json for a config; `base` keeps fields we do not model. */
export function toHFConfig(cfg: ModelConfig, base: Json = {}): Json {
  const family = FAMILIES.find((f) => f.family === cfg.family);
  if (!family) throw new ScionError(`no config.json writer for family '${cfg.family}'`, 'E_CONFIG');
  return { ...base, ...family.toHF(cfg, base) };
}

/** The one projection of a config to its shape numbers (growth, reports, training and the store read it). */
export function modelShape(cfg: ModelConfig): ModelShape {
  return cfg.family === 'gpt2'
    ? {
        family: cfg.family,
        hidden: cfg.nEmbd,
        layers: cfg.nLayer,
        heads: cfg.nHead,
        kvHeads: cfg.nHead,
        ffn: cfg.nInner,
        ctx: cfg.nPositions,
        vocab: cfg.vocabSize,
      }
    : {
        family: cfg.family,
        hidden: cfg.hiddenSize,
        layers: cfg.numHiddenLayers,
        heads: cfg.numAttentionHeads,
        kvHeads: cfg.family === 'gpt_neox' || cfg.family === 'opt' ? cfg.numAttentionHeads : cfg.numKeyValueHeads,
        ffn: cfg.family === 'opt' ? cfg.ffnDim : cfg.intermediateSize,
        ctx: cfg.maxPositionEmbeddings,
        vocab: cfg.vocabSize,
      };
}

/** Llama-shaped (Llama, Qwen2, Qwen3, Mistral, Phi-3, Gemma, OLMo, OLMo2): one decoder (llama.ts), RoPE, grouped KV heads, gated MLP. */
export function isLlamaShaped(cfg: ModelConfig): cfg is LlamaConfig {
  return cfg.family !== 'gpt2' && cfg.family !== 'gpt_neox' && cfg.family !== 'opt';
}

/** LayerNorm families (GPT-2, GPT-NeoX, OPT, OLMo's non-parametric one): zero padding the hidden size is approximate. */
export function usesLayerNorm(cfg: ModelConfig): boolean {
  return cfg.family === 'gpt2' || cfg.family === 'gpt_neox' || cfg.family === 'opt' || (isLlamaShaped(cfg) && cfg.nonParametricNorm === true);
}

/** Width of one attention head (GPT-2: hidden / heads; Llama: head_dim). */
export function headDimOf(cfg: ModelConfig): number {
  if (cfg.family === 'gpt2') return cfg.nEmbd / cfg.nHead;
  return cfg.family === 'gpt_neox' || cfg.family === 'opt' ? cfg.hiddenSize / cfg.numAttentionHeads : cfg.headDim;
}

export function contextLength(cfg: ModelConfig): number {
  return cfg.family === 'gpt2' ? cfg.nPositions : cfg.maxPositionEmbeddings;
}
