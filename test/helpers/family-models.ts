/**
 * Models of the Llama-shaped families made by Scion itself, never transformers references:
 * the Llama fixture's trained weights under another family's config.json, with that family's
 * own tensors (Qwen2's q/k/v biases, Qwen3's q/k norms) drawn at random, so growth and the
 * special cases run on realistic magnitudes.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { writeSafetensors } from '../../electron/engine/io/safetensors.ts';
import { type ModelConfig, parseHFConfig } from '../../electron/engine/models/config.ts';
import { tensorSpecs } from '../../electron/engine/models/family.ts';
import { Rng } from '../../electron/engine/rng.ts';
import { fixtureDir } from './fixtures.ts';

export type Json = Record<string, unknown>;
export const LLAMA_FIXTURE = fixtureDir('llama-shakespeare-h64-l2');

const ARCH = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', mistral: 'MistralForCausalLM' } as const;
export type LlamaShaped = keyof typeof ARCH;

/** The Llama fixture's config.json as `family` names it, with `extra` fields on top. */
export function familyConfigJson(family: LlamaShaped, extra: Json = {}): Json {
  const raw = JSON.parse(readFileSync(path.join(LLAMA_FIXTURE, 'config.json'), 'utf8')) as Json;
  if (family !== 'llama') for (const k of ['attention_bias', 'mlp_bias', 'pretraining_tp']) delete raw[k];
  return { ...raw, architectures: [ARCH[family]], model_type: family, ...extra };
}

export interface FamilyModelOptions {
  /** Std of Qwen2's q/k/v biases (0: all zero). */
  biasStd?: number;
  /** Qwen3's q/k norm weights are 1 + jitter * N(0, 1). */
  normJitter?: number;
  seed?: number;
}

/** `raw` (a family config.json) with weights: the source's where names match, the family's own tensors drawn. */
export function familyArrays(
  raw: Json,
  source: Map<string, Float32Array>,
  opts: FamilyModelOptions = {},
): { config: ModelConfig; arrays: Map<string, Float32Array> } {
  const config = parseHFConfig(raw);
  const rng = new Rng(opts.seed ?? 11);
  const arrays = new Map<string, Float32Array>();
  for (const spec of tensorSpecs(config)) {
    const have = source.get(spec.name);
    if (have) {
      arrays.set(spec.name, have);
      continue;
    }
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    const isNorm = spec.name.endsWith('norm.weight');
    for (let i = 0; i < n; i++) a[i] = isNorm ? 1 + (opts.normJitter ?? 0) * rng.normal() : (opts.biasStd ?? 0) * rng.normal();
    arrays.set(spec.name, a);
  }
  return { config, arrays };
}

/** Writes a model folder (config.json + model.safetensors) as a user would download it. */
export async function writeModelDir(dir: string, raw: Json, arrays: Map<string, Float32Array>): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(raw, null, 2));
  const specs = tensorSpecs(parseHFConfig(raw));
  await writeSafetensors(path.join(dir, 'model.safetensors'), specs, (name) => arrays.get(name)!, { format: 'pt' });
  return dir;
}
