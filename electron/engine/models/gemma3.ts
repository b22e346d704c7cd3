/**
 * Gemma 3 text (`Gemma3ForCausalLM`, model_type `gemma3_text`: Gemma-3-270M, 1B), as
 * transformers computes it: Gemma's decoder (gemma.ts: (1 + weight) RMSNorms, GeGLU tanh,
 * embedding x sqrt(hidden)) with a norm before and after each sublayer (input_layernorm and
 * post_attention_layernorm around attention, pre_feedforward_layernorm and
 * post_feedforward_layernorm around the MLP), per-head q/k RMSNorms (1 + weight) before RoPE,
 * attention scaled by query_pre_attn_scalar^-1/2, and sliding-window attention (token i reads
 * i - window < j <= i) on the layers `layer_types` calls sliding (or, in older configs, all but
 * every `sliding_window_pattern`-th), whose RoPE base is `rope_local_base_freq`; full layers use
 * `rope_theta`. Soft-capping (attn_logit_softcapping, final_logit_softcapping), bidirectional
 * attention and RoPE scaling are refused naming the field. Reference: transformers
 * `modeling_gemma3.py`, `configuration_gemma3.py`.
 */
import type { LlamaConfig } from './config.ts';
import { type Json, bad, int, num, requireValue } from './config-fields.ts';
import { type FamilyConfigSpec, decoderHF, parseDecoder } from './decoder-config.ts';
import { requireTanhGelu } from './gemma.ts';

/** A positive rope_theta from `spec` (a rope_parameters entry), refusing any RoPE type but the default. */
function ropeEntry(spec: unknown, file: string, field: string, fallback: number): number {
  if (spec === undefined || spec === null) return fallback;
  if (typeof spec !== 'object') bad(file, field, spec, 'expected an object');
  const s = spec as Json;
  const type = s['rope_type'] ?? s['type'] ?? 'default';
  if (type !== 'default') bad(file, `${field}.rope_type`, type, 'only the default RoPE is implemented for Gemma 3');
  return num(s, file, 'rope_theta', fallback);
}

/** Which layers slide: `layer_types`, else every layer but each `sliding_window_pattern`-th (default 6). */
function slidingLayers(raw: Json, file: string, layers: number): boolean[] {
  const types = raw['layer_types'];
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length !== layers) bad(file, 'layer_types', types, `expected a list of ${layers} layer types`);
    return types.map((t, i) => {
      if (t !== 'sliding_attention' && t !== 'full_attention') bad(file, `layer_types[${i}]`, t, 'expected sliding_attention or full_attention');
      return t === 'sliding_attention';
    });
  }
  const pattern = int(raw, file, raw['sliding_window_pattern'] !== undefined ? 'sliding_window_pattern' : '_sliding_window_pattern', 6);
  return Array.from({ length: layers }, (_, i) => (i + 1) % pattern !== 0);
}

export const gemma3Family: FamilyConfigSpec<LlamaConfig> = {
  family: 'gemma3_text',
  name: 'Gemma 3 (text)',
  architecture: 'Gemma3ForCausalLM',
  modelType: 'gemma3_text',
  parse(raw, file) {
    requireTanhGelu(raw, file);
    requireValue(raw, file, 'attention_bias', [false], 'attention biases in Gemma 3 are not implemented');
    requireValue(raw, file, 'attn_logit_softcapping', [], 'attention logit soft-capping is not implemented');
    requireValue(raw, file, 'final_logit_softcapping', [], 'final logit soft-capping is not implemented');
    requireValue(raw, file, 'use_bidirectional_attention', [false], 'bidirectional attention is not implemented');
    const scaling = raw['rope_scaling'] as Json | null | undefined;
    if (scaling !== undefined && scaling !== null) ropeEntry(scaling, file, 'rope_scaling', 0);
    const params = raw['rope_parameters'] as Json | null | undefined;
    const nested = params !== undefined && params !== null && typeof params === 'object' && ('full_attention' in params || 'sliding_attention' in params);
    const globalTheta = nested ? ropeEntry(params['full_attention'], file, 'rope_parameters.full_attention', 1e6) : num(raw, file, 'rope_theta', 1e6);
    const localTheta = nested
      ? ropeEntry(params['sliding_attention'], file, 'rope_parameters.sliding_attention', 1e4)
      : num(raw, file, 'rope_local_base_freq', 1e4);
    const flat = { ...raw, hidden_act: undefined, rope_parameters: undefined, rope_scaling: undefined, rope_theta: globalTheta };
    const cfg = parseDecoder({ ...flat, tie_word_embeddings: raw['tie_word_embeddings'] ?? true }, file, 'gemma3_text', {
      headDim: 256,
      rmsNormEps: 1e-6,
      maxPositionEmbeddings: 131072,
    });
    return {
      ...cfg,
      normGainOffset: 1,
      embedScale: true,
      mlpActivation: 'gelu_tanh',
      qkNorm: true,
      sandwichNorm: true,
      queryPreAttnScalar: num(raw, file, 'query_pre_attn_scalar', 256),
      slidingWindow: int(raw, file, 'sliding_window', 4096),
      slidingLayers: slidingLayers(raw, file, cfg.numHiddenLayers),
      ropeLocalTheta: localTheta,
    };
  },
  toHF: (cfg, base) => {
    const out: Json = {
      ...decoderHF(cfg, base, 'Gemma3ForCausalLM', 'gemma3_text'),
      hidden_act: 'gelu_pytorch_tanh',
      hidden_activation: 'gelu_pytorch_tanh',
      attention_bias: false,
      query_pre_attn_scalar: cfg.queryPreAttnScalar,
      sliding_window: cfg.slidingWindow,
      layer_types: (cfg.slidingLayers ?? []).map((s) => (s ? 'sliding_attention' : 'full_attention')),
      attn_logit_softcapping: null,
      final_logit_softcapping: null,
      rope_local_base_freq: cfg.ropeLocalTheta,
      sliding_window_pattern: undefined,
      _sliding_window_pattern: undefined,
    };
    if (base['rope_parameters'] !== undefined)
      out['rope_parameters'] = {
        full_attention: { rope_type: 'default', rope_theta: cfg.ropeTheta },
        sliding_attention: { rope_type: 'default', rope_theta: cfg.ropeLocalTheta },
      };
    return out;
  },
};
