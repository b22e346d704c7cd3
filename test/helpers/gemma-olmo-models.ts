/**
 * Gemma, OLMo and OLMo2 models made by Scion, never transformers references: the Llama
 * fixture's trained weights under each family's config.json (Gemma's norms stored as gain - 1,
 * OLMo without norm tensors, OLMo2's q/k norm and post-MLP norm gains drawn), so forward,
 * growth and the numpy reference run on realistic magnitudes.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type ModelConfig, parseHFConfig } from '../../electron/engine/models/config.ts';
import { tensorSpecs } from '../../electron/engine/models/family.ts';
import { Rng } from '../../electron/engine/rng.ts';
import { type Json, LLAMA_FIXTURE } from './family-models.ts';

export const GEMMA_OLMO = ['gemma', 'gemma3_text', 'olmo', 'olmo2'] as const;
export type GemmaOlmo = (typeof GEMMA_OLMO)[number];
export const ARCH: Record<GemmaOlmo, string> = {
  gemma: 'GemmaForCausalLM',
  gemma3_text: 'Gemma3ForCausalLM',
  olmo: 'OlmoForCausalLM',
  olmo2: 'Olmo2ForCausalLM',
};
/** Gemma 3's own fields: layer 0 sliding (window 16, shorter than the 64-token probe), layer 1 full, q scale 24^-1/2, two RoPE bases. */
const GEMMA3: Json = {
  layer_types: ['sliding_attention', 'full_attention'],
  sliding_window: 16,
  query_pre_attn_scalar: 24,
  rope_theta: 10000,
  rope_local_base_freq: 1000,
  rope_parameters: undefined,
};

/** The Llama fixture's config.json (vocab 512, hidden 64, 2 layers, 4 heads, 2 KV heads, head_dim 16) as `family` names it. */
export function gemmaOlmoConfigJson(family: GemmaOlmo, extra: Json = {}): Json {
  const raw = JSON.parse(readFileSync(path.join(LLAMA_FIXTURE, 'config.json'), 'utf8')) as Json;
  for (const k of ['attention_bias', 'mlp_bias', 'pretraining_tp']) delete raw[k];
  const gelu = { hidden_act: 'gelu_pytorch_tanh', hidden_activation: 'gelu_pytorch_tanh' };
  const own: Json = family === 'gemma' ? gelu : family === 'gemma3_text' ? { ...gelu, ...GEMMA3 } : {};
  if (family === 'olmo') delete raw['rms_norm_eps'];
  return { ...raw, architectures: [ARCH[family]], model_type: family, ...own, ...extra };
}

/**
 * `raw` with weights: the Llama fixture's where names and sizes match (Gemma's norm gains stored
 * minus 1), the rest drawn (norm gains 1 + 0.2 N(0, 1), projections 0.1 N(0, 1)), a tied head dropped. `llama` is the
 * fixture's arrays.
 */
export function gemmaOlmoArrays(raw: Json, llama: Map<string, Float32Array>, seed = 11): { config: ModelConfig; arrays: Map<string, Float32Array> } {
  const config = parseHFConfig(raw);
  const rng = new Rng(seed);
  const gemma = config.family === 'gemma' || config.family === 'gemma3_text';
  const arrays = new Map<string, Float32Array>();
  for (const spec of tensorSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const have = llama.get(spec.name);
    const isNorm = spec.name.endsWith('norm.weight');
    const offset = gemma && isNorm ? 1 : 0; // Gemma stores gain - 1
    if (have && have.length === n) arrays.set(spec.name, offset ? have.map((v) => v - offset) : have);
    else
      arrays.set(
        spec.name,
        Float32Array.from({ length: n }, () => (isNorm ? 1 - offset + 0.2 * rng.normal() : 0.1 * rng.normal())),
      );
  }
  return { config, arrays };
}
