/**
 * Random initialisation of a model from its config, seeded: the GPT-2 / Llama recipe.
 * Weight matrices and embeddings ~ N(0, 0.02); the residual-writing projections (GPT-2
 * attn.c_proj and mlp.c_proj, Llama o_proj and down_proj, OPT out_proj and fc2) ~ N(0, 0.02 / sqrt(2 L));
 * biases 0; norm gains 1 (Gemma's stored weight 0, its norms multiplying by 1 + weight).
 */
import * as tf from '@tensorflow/tfjs-core';
import { isLlamaShaped, modelShape, type ModelConfig } from '../models/config.ts';
import { tensorSpecs } from '../models/family.ts';
import type { Params } from '../models/params.ts';
import { Rng } from '../rng.ts';

const STD = 0.02;

function isNormGain(name: string): boolean {
  return /(ln_\d|ln_f|layernorm|norm)\.weight$/.test(name);
}

function isResidualWriter(name: string): boolean {
  return /(attn\.c_proj|mlp\.c_proj|o_proj|down_proj|out_proj|fc2)\.weight$/.test(name);
}

/** Float32 arrays of a freshly initialised model, by canonical name. */
export function initArrays(cfg: ModelConfig, seed: number): Map<string, { shape: number[]; data: Float32Array }> {
  const rng = new Rng(seed);
  const layers = modelShape(cfg).layers;
  const gainOffset = isLlamaShaped(cfg) ? (cfg.normGainOffset ?? 0) : 0; // Gemma stores gain - 1: a gain of 1 is stored 0
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const spec of tensorSpecs(cfg)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (isNormGain(spec.name)) data.fill(1 - gainOffset);
    else if (spec.shape.length >= 2) {
      const std = isResidualWriter(spec.name) ? STD / Math.sqrt(2 * layers) : STD;
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}

export function initParams(cfg: ModelConfig, seed: number): Params {
  const p: Params = {};
  for (const [name, a] of initArrays(cfg, seed)) p[name] = tf.tensor(a.data, a.shape, 'float32');
  return p;
}
