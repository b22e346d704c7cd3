/** Dispatch from a config to its family's tensor list, name rules and forward pass. */
import type * as tf from '@tensorflow/tfjs-core';
import { type ModelConfig, headDimOf, modelShape } from './config.ts';
import { gpt2CanonicalName, gpt2Forward, gpt2IgnoredTensor, gpt2Stages, gpt2TensorSpecs } from './gpt2.ts';
import { llamaCanonicalName, llamaForward, llamaIgnoredTensor, llamaStages, llamaTensorSpecs } from './llama.ts';
import { neoxCanonicalName, neoxForward, neoxIgnoredTensor, neoxStages, neoxTensorSpecs } from './neox.ts';
import { optCanonicalName, optForward, optIgnoredTensor, optProjects, optStages, optTensorSpecs } from './opt.ts';
import type { ForwardOptions, ForwardResult, Params, TensorSpec } from './params.ts';
import type { DecoderStages } from './stages.ts';

export function tensorSpecs(cfg: ModelConfig): TensorSpec[] {
  if (cfg.family === 'gpt2') return gpt2TensorSpecs(cfg);
  if (cfg.family === 'opt') return optTensorSpecs(cfg);
  return cfg.family === 'gpt_neox' ? neoxTensorSpecs(cfg) : llamaTensorSpecs(cfg);
}

export function canonicalName(cfg: ModelConfig, name: string): string {
  if (cfg.family === 'gpt2') return gpt2CanonicalName(name);
  if (cfg.family === 'opt') return optCanonicalName(name);
  return cfg.family === 'gpt_neox' ? neoxCanonicalName(name) : llamaCanonicalName(name);
}

export function ignoredTensor(cfg: ModelConfig, name: string): boolean {
  if (cfg.family === 'gpt2') return gpt2IgnoredTensor(name);
  if (cfg.family === 'opt') return optIgnoredTensor(name, cfg);
  return cfg.family === 'gpt_neox' ? neoxIgnoredTensor(name) : llamaIgnoredTensor(name, cfg);
}

export function forward(cfg: ModelConfig, p: Params, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  if (cfg.family === 'gpt2') return gpt2Forward(cfg, p, ids, opts);
  if (cfg.family === 'opt') return optForward(cfg, p, ids, opts);
  return cfg.family === 'gpt_neox' ? neoxForward(cfg, p, ids, opts) : llamaForward(cfg, p, ids, opts);
}

/**
 * The forward pass split into stages (stages.ts), for training one stage at a time; undefined
 * for a family without them (its training materialises the logits and cannot recompute).
 * The stages' constants belong to the caller's tidy, or are freed by their `dispose`.
 */
export function decoderStages(cfg: ModelConfig, p: Params, ids: tf.Tensor2D): DecoderStages | undefined {
  if (cfg.family === 'gpt2') return gpt2Stages(cfg, p, ids);
  if (cfg.family === 'opt') return optStages(cfg, p, ids);
  return cfg.family === 'gpt_neox' ? neoxStages(cfg, p, ids) : llamaStages(cfg, p, ids);
}

/** Number of parameters (tied head counted once). */
export function parameterCount(cfg: ModelConfig): number {
  return tensorSpecs(cfg).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Forward FLOPs per token (2 per multiply-add in every matrix product, attention scores
 * and mixing included at context `ctx`). Training is about 3x this. GPT-2, GPT-NeoX and OPT
 * have a two-matrix MLP (GELU, ReLU), the Llama-shaped families SwiGLU (three).
 */
export function flopsPerToken(cfg: ModelConfig, ctx: number): number {
  const s = modelShape(cfg);
  const d = s.hidden;
  const qd = s.heads * headDimOf(cfg);
  const kvd = s.kvHeads * headDimOf(cfg);
  const mlpMatrices = cfg.family === 'gpt2' || cfg.family === 'gpt_neox' || cfg.family === 'opt' ? 2 : 3;
  const blocks = s.layers * (d * qd + 2 * d * kvd + qd * d + mlpMatrices * d * s.ffn + 2 * ctx * qd);
  // OPT-350M's project_in / project_out, and its head reads word_embed_proj_dim
  const width = cfg.family === 'opt' ? cfg.wordEmbedProjDim : d;
  const projections = cfg.family === 'opt' && optProjects(cfg) ? 2 * d * width : 0;
  const macs = blocks + projections + width * s.vocab;
  return 2 * macs;
}
