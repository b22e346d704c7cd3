/**
 * OLMo (`OlmoForCausalLM`, OLMo 1), as transformers computes it: Llama's decoder (llama.ts)
 * whose norms are LayerNorms without weight or bias (eps fixed at 1e-5, no tensors stored),
 * with q, k and v optionally clamped to [-clip_qkv, clip_qkv] after their projections, SwiGLU,
 * RoPE, and a tied (OLMo-1B) or untied head (transformers' default). Reference: transformers
 * `modeling_olmo.py`, `configuration_olmo.py`.
 */
import type { LlamaConfig } from './config.ts';
import { num, requireValue } from './config-fields.ts';
import { type FamilyConfigSpec, decoderHF, parseDecoder } from './decoder-config.ts';

/** OlmoLayerNorm's eps (not a config field). */
export const OLMO_LAYER_NORM_EPS = 1e-5;

export const olmoFamily: FamilyConfigSpec<LlamaConfig> = {
  family: 'olmo',
  name: 'OLMo',
  architecture: 'OlmoForCausalLM',
  modelType: 'olmo',
  parse(raw, file) {
    requireValue(raw, file, 'attention_bias', [false], 'attention biases in OLMo are not implemented');
    const cfg = parseDecoder(raw, file, 'olmo', { rmsNormEps: OLMO_LAYER_NORM_EPS, maxPositionEmbeddings: 2048 });
    const clip = raw['clip_qkv'] === null || raw['clip_qkv'] === undefined ? undefined : num(raw, file, 'clip_qkv');
    return { ...cfg, rmsNormEps: OLMO_LAYER_NORM_EPS, nonParametricNorm: true, ...(clip !== undefined ? { clipQkv: clip } : {}) };
  },
  toHF: (cfg, base) => ({
    ...decoderHF(cfg, base, 'OlmoForCausalLM', 'olmo'),
    rms_norm_eps: undefined,
    clip_qkv: cfg.clipQkv ?? null,
    attention_bias: false,
  }),
};
