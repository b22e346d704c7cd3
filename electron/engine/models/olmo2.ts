/**
 * OLMo 2 (`Olmo2ForCausalLM`), as transformers computes it: Llama's decoder (llama.ts) with the
 * norms moved after the sublayers: x + post_attention_layernorm(attn(x)), then
 * x + post_feedforward_layernorm(mlp(x)) (RMSNorm, no norm on the sublayer inputs), and q_norm /
 * k_norm RMSNorms over the whole q and k projections (weights [heads x head_dim] and
 * [kv_heads x head_dim], not per head) before RoPE; final RMSNorm, SwiGLU, untied head by
 * default (a `clip_qkv` field is ignored, as transformers deletes it). Reference: transformers `modeling_olmo2.py`, `configuration_olmo2.py`.
 */
import type { LlamaConfig } from './config.ts';
import { requireValue } from './config-fields.ts';
import { type FamilyConfigSpec, decoderHF, parseDecoder } from './decoder-config.ts';

export const olmo2Family: FamilyConfigSpec<LlamaConfig> = {
  family: 'olmo2',
  name: 'OLMo 2',
  architecture: 'Olmo2ForCausalLM',
  modelType: 'olmo2',
  parse(raw, file) {
    requireValue(raw, file, 'attention_bias', [false], 'attention biases in OLMo 2 are not implemented');
    return { ...parseDecoder(raw, file, 'olmo2', { rmsNormEps: 1e-5, maxPositionEmbeddings: 2048 }), postNorm: true, qkNormFull: true };
  },
  toHF: (cfg, base) => ({ ...decoderHF(cfg, base, 'Olmo2ForCausalLM', 'olmo2'), attention_bias: false }),
};
