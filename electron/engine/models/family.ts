/** Dispatch from a config to its family's tensor list, name rules and forward pass. */
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './config.ts';
import { gpt2CanonicalName, gpt2Forward, gpt2IgnoredTensor, gpt2TensorSpecs } from './gpt2.ts';
import { llamaCanonicalName, llamaForward, llamaIgnoredTensor, llamaTensorSpecs } from './llama.ts';
import type { ForwardOptions, ForwardResult, Params, TensorSpec } from './params.ts';

export function tensorSpecs(cfg: ModelConfig): TensorSpec[] {
  return cfg.family === 'gpt2' ? gpt2TensorSpecs(cfg) : llamaTensorSpecs(cfg);
}

export function canonicalName(cfg: ModelConfig, name: string): string {
  return cfg.family === 'gpt2' ? gpt2CanonicalName(name) : llamaCanonicalName(name);
}

export function ignoredTensor(cfg: ModelConfig, name: string): boolean {
  return cfg.family === 'gpt2' ? gpt2IgnoredTensor(name) : llamaIgnoredTensor(name, cfg);
}

export function forward(cfg: ModelConfig, p: Params, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  return cfg.family === 'gpt2' ? gpt2Forward(cfg, p, ids, opts) : llamaForward(cfg, p, ids, opts);
}

/** Number of parameters (tied head counted once). */
export function parameterCount(cfg: ModelConfig): number {
  return tensorSpecs(cfg).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * Forward FLOPs per token (2 per multiply-add in every matrix product, attention scores
 * and mixing included at context `ctx`). Training is about 3x this.
 */
export function flopsPerToken(cfg: ModelConfig, ctx: number): number {
  let macs = 0;
  if (cfg.family === 'gpt2') {
    const d = cfg.nEmbd;
    macs = cfg.nLayer * (d * 3 * d + d * d + 2 * d * cfg.nInner + 2 * ctx * d) + d * cfg.vocabSize;
  } else {
    const d = cfg.hiddenSize;
    const qd = cfg.numAttentionHeads * cfg.headDim;
    const kvd = cfg.numKeyValueHeads * cfg.headDim;
    macs = cfg.numHiddenLayers * (d * qd + 2 * d * kvd + qd * d + 3 * d * cfg.intermediateSize + 2 * ctx * qd) + d * cfg.vocabSize;
  }
  return 2 * macs;
}
