/**
 * Mistral (`MistralForCausalLM`), as transformers computes it: Llama's decoder (llama.ts) with
 * sliding-window attention: token i attends to tokens j with i - window < j <= i (itself and
 * the `sliding_window - 1` before it; transformers' `sliding_window_overlay`). When the context
 * is no longer than the window (or `sliding_window` is null) it is exactly Llama. Reference:
 * transformers `modeling_mistral.py`, `masking_utils.py`.
 */
import type { LlamaConfig } from './config.ts';
import { int } from './config-fields.ts';
import { type FamilyConfigSpec, decoderHF, parseDecoder } from './decoder-config.ts';

export const mistralFamily: FamilyConfigSpec<LlamaConfig> = {
  family: 'mistral',
  name: 'Mistral',
  architecture: 'MistralForCausalLM',
  modelType: 'mistral',
  parse(raw, file) {
    const cfg = parseDecoder(raw, file, 'mistral', { rmsNormEps: 1e-6, maxPositionEmbeddings: 4096 * 32 });
    const window = raw['sliding_window'] === null ? undefined : int(raw, file, 'sliding_window', 4096);
    return window === undefined ? cfg : { ...cfg, slidingWindow: window };
  },
  toHF: (cfg, base) => ({ ...decoderHF(cfg, base, 'MistralForCausalLM', 'mistral'), sliding_window: cfg.slidingWindow ?? null }),
};
