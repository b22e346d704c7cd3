/**
 * A small GPT-NeoX (Pythia-shaped) model made by Scion, never a transformers reference:
 * config.json as transformers names it, weights drawn large enough that attention, the
 * partial rotary dims, LayerNorm gains and biases all matter.
 */
import { type ModelConfig, parseHFConfig } from '../../electron/engine/models/config.ts';
import { tensorSpecs } from '../../electron/engine/models/family.ts';
import { Rng } from '../../electron/engine/rng.ts';
import type { Json } from './family-models.ts';

export function neoxConfigJson(extra: Json = {}): Json {
  return {
    architectures: ['GPTNeoXForCausalLM'],
    model_type: 'gpt_neox',
    vocab_size: 512,
    hidden_size: 64,
    intermediate_size: 256,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    max_position_embeddings: 128,
    rotary_pct: 0.5,
    rotary_emb_base: 10000,
    layer_norm_eps: 1e-5,
    hidden_act: 'gelu',
    use_parallel_residual: true,
    tie_word_embeddings: false,
    attention_bias: true,
    bos_token_id: 0,
    eos_token_id: 0,
    ...extra,
  };
}

export function neoxArrays(raw: Json, seed = 7): { config: ModelConfig; arrays: Map<string, Float32Array> } {
  const config = parseHFConfig(raw);
  const rng = new Rng(seed);
  const arrays = new Map<string, Float32Array>();
  for (const spec of tensorSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const isGain = /layernorm\.weight$|final_layer_norm\.weight$/.test(spec.name);
    const std = isGain ? 0.2 : spec.shape.length === 1 ? 0.1 : spec.name.includes('embed') ? 1 : 0.15;
    arrays.set(
      spec.name,
      Float32Array.from({ length: n }, () => (isGain ? 1 : 0) + std * rng.normal()),
    );
  }
  return { config, arrays };
}
