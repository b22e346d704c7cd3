/**
 * Qwen3 (`Qwen3ForCausalLM`), as transformers computes it: Llama's decoder (llama.ts) with an
 * RMSNorm over each head's queries and keys (`q_norm`, `k_norm`: weights [head_dim], eps
 * `rms_norm_eps`) applied before RoPE, no attention biases (`attention_bias` true is
 * refused), head_dim 128 unless config.json says otherwise, and sliding-window attention
 * refused as in Qwen2. Reference: transformers `modeling_qwen3.py`, `configuration_qwen3.py`.
 */
import type { LlamaConfig } from './config.ts';
import { requireValue } from './config-fields.ts';
import { type FamilyConfigSpec, decoderHF, fullAttentionLayers, parseDecoder, requireFullAttention } from './decoder-config.ts';

export const qwen3Family: FamilyConfigSpec<LlamaConfig> = {
  family: 'qwen3',
  name: 'Qwen3',
  architecture: 'Qwen3ForCausalLM',
  modelType: 'qwen3',
  parse(raw, file) {
    requireValue(raw, file, 'attention_bias', [false], 'attention biases in Qwen3 are not implemented');
    requireValue(raw, file, 'use_sliding_window', [false], 'sliding-window attention in Qwen3 is not implemented (only use_sliding_window = false)');
    requireFullAttention(raw, file);
    return { ...parseDecoder(raw, file, 'qwen3', { headDim: 128, rmsNormEps: 1e-6, maxPositionEmbeddings: 32768 }), qkNorm: true };
  },
  toHF: (cfg, base) => ({
    ...decoderHF(cfg, base, 'Qwen3ForCausalLM', 'qwen3'),
    attention_bias: false,
    use_sliding_window: false,
    layer_types: fullAttentionLayers(cfg),
  }),
};
