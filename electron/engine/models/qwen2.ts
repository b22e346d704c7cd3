/**
 * Qwen2 (`Qwen2ForCausalLM`: Qwen2 and Qwen2.5), as transformers computes it: Llama's decoder
 * (llama.ts: RMSNorm, RoPE, grouped KV heads, SwiGLU) with biases on the q, k and v projections
 * (o_proj has none), and a tied (Qwen2.5-0.5B) or untied head. Sliding-window attention is off
 * unless `use_sliding_window` is true, which is refused. Reference: transformers
 * `modeling_qwen2.py`, `configuration_qwen2.py`.
 */
import type { LlamaConfig } from './config.ts';
import { requireValue } from './config-fields.ts';
import { type FamilyConfigSpec, decoderHF, fullAttentionLayers, parseDecoder, requireFullAttention } from './decoder-config.ts';

export const qwen2Family: FamilyConfigSpec<LlamaConfig> = {
  family: 'qwen2',
  name: 'Qwen2',
  architecture: 'Qwen2ForCausalLM',
  modelType: 'qwen2',
  parse(raw, file) {
    requireValue(raw, file, 'use_sliding_window', [false], 'sliding-window attention in Qwen2 is not implemented (only use_sliding_window = false)');
    requireFullAttention(raw, file);
    return { ...parseDecoder(raw, file, 'qwen2', { rmsNormEps: 1e-6, maxPositionEmbeddings: 32768 }), qkvBias: true };
  },
  toHF: (cfg, base) => ({ ...decoderHF(cfg, base, 'Qwen2ForCausalLM', 'qwen2'), use_sliding_window: false, layer_types: fullAttentionLayers(cfg) }),
};
