/**
 * Gemma (`GemmaForCausalLM`, Gemma 1), as transformers computes it: Llama's decoder (llama.ts)
 * with three changes. Every RMSNorm multiplies by (1 + weight) in float32 (the stored weight is
 * the gain minus 1, zero at init); the MLP is GeGLU with the tanh GELU (`gelu_pytorch_tanh`);
 * the embedding output is multiplied by sqrt(hidden_size) rounded to float32 (transformers casts
 * the normalizer to the hidden states' dtype). head_dim defaults to 256 (it need not equal
 * hidden / heads), the head is tied unless `tie_word_embeddings` is false, and grouped KV heads
 * work as in Llama. The activation is `hidden_activation`; `hidden_act` is transformers' legacy
 * field, which its docs say `hidden_activation` overrides (older transformers ignore it, newer
 * ones read it when `hidden_activation` is absent), so Scion writes both as gelu_pytorch_tanh.
 * Gemma 2 and 3 (soft-capping, alternating sliding windows) are refused by name in config.ts.
 * Reference: transformers `modeling_gemma.py`, `configuration_gemma.py`.
 */
import type { LlamaConfig } from './config.ts';
import { type Json, bad, requireValue } from './config-fields.ts';
import { type FamilyConfigSpec, decoderHF, parseDecoder } from './decoder-config.ts';

/** Names transformers' ACT2FN gives the tanh GELU. */
const TANH_GELU = ['gelu_pytorch_tanh', 'gelu_new'];

/** Gemma's MLP activation: `hidden_activation`, else the legacy `hidden_act`, must be the tanh GELU. */
export function requireTanhGelu(raw: Json, file: string): void {
  const act = raw['hidden_activation'];
  if (act !== undefined && act !== null && !TANH_GELU.includes(String(act)))
    bad(file, 'hidden_activation', act, 'only the tanh GELU (gelu_pytorch_tanh) of Gemma is implemented');
  if ((act === undefined || act === null) && raw['hidden_act'] !== undefined && !['gelu', ...TANH_GELU].includes(String(raw['hidden_act'])))
    bad(file, 'hidden_act', raw['hidden_act'], 'Gemma runs the tanh GELU (gelu_pytorch_tanh); set hidden_activation');
}

export const gemmaFamily: FamilyConfigSpec<LlamaConfig> = {
  family: 'gemma',
  name: 'Gemma',
  architecture: 'GemmaForCausalLM',
  modelType: 'gemma',
  parse(raw, file) {
    requireTanhGelu(raw, file);
    requireValue(raw, file, 'attention_bias', [false], 'attention biases in Gemma are not implemented');
    requireValue(raw, file, 'use_adarms', [false], 'adaptive RMSNorm (use_adarms) is not implemented');
    const cfg = parseDecoder({ ...raw, hidden_act: undefined, tie_word_embeddings: raw['tie_word_embeddings'] ?? true }, file, 'gemma', {
      headDim: 256,
      rmsNormEps: 1e-6,
      maxPositionEmbeddings: 8192,
    });
    return { ...cfg, normGainOffset: 1, embedScale: true, mlpActivation: 'gelu_tanh' };
  },
  toHF: (cfg, base) => ({
    ...decoderHF(cfg, base, 'GemmaForCausalLM', 'gemma'),
    hidden_act: 'gelu_pytorch_tanh',
    hidden_activation: 'gelu_pytorch_tanh',
    attention_bias: false,
  }),
};
