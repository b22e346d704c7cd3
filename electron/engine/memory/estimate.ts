/**
 * What a piece of work will hold in memory, from the config alone (no tensor allocated):
 * weights, gradients, AdamW's two moments and the activations of one micro-batch.
 *
 * Activations: tfjs keeps every intermediate of the forward pass for the backward pass. Per
 * token and block that is about 40 floats per hidden unit and 32 per MLP unit (norms, q/k/v
 * and their transposes, the MLP and its activation's pieces) plus 8 per attention score
 * (heads x ctx: scores, mask, softmax and their gradients), and 13 floats per vocabulary
 * entry for the head (logits, log-softmax, their gradients). Evaluation (one forward pass in
 * one tidy) keeps 12 / 8 / 2 per block and 4 per vocabulary entry. The constants are
 * tf.profile's peak bytes on the wasm backend for GPT-2 and Llama shapes (d 128-256, 2-4
 * blocks, vocab 256-4096, ctx 128-256; see the sizes note), rounded up.
 */
import type { ModelConfig } from '../models/config.ts';
import { modelShape } from '../models/config.ts';

const F32 = 4;
/** Floats per token: [per hidden unit, per MLP unit, per attention score, per vocabulary entry] and block. */
const TRAIN_ACT = [40, 32, 8, 13] as const;
const EVAL_ACT = [12, 8, 2, 4] as const;

export interface Shape {
  hidden: number;
  ffn: number;
  layers: number;
  heads: number;
  vocab: number;
  ctx: number;
}

/** The parameter count of a shape, without building its tensor list (GPT-2 biases and Llama's untied head approximated from above). */
export function shapeParameters(family: ModelConfig['family'], s: Shape): number {
  const d = s.hidden;
  if (family === 'gpt2') return s.vocab * d + s.ctx * d + s.layers * (4 * d * d + 2 * d * s.ffn + 9 * d + s.ffn) + 2 * d;
  return 2 * s.vocab * d + s.layers * (4 * d * d + 3 * d * s.ffn + 2 * d) + d;
}

export function shapeOf(cfg: ModelConfig): Shape {
  const s = modelShape(cfg);
  return { hidden: s.hidden, ffn: s.ffn, layers: s.layers, heads: s.heads, vocab: s.vocab, ctx: s.ctx };
}

export interface MemoryEstimate {
  parameters: number;
  weights: number;
  gradients: number;
  optimizer: number;
  activations: number;
  /** Bytes in all. */
  total: number;
}

/** Activation bytes of one forward + backward over batch x ctx tokens (`training`), or one forward (evaluation). */
export function activationBytes(s: Shape, batch: number, ctx: number, training: boolean): number {
  const [h, f, score, vocab] = training ? TRAIN_ACT : EVAL_ACT;
  return F32 * batch * ctx * (s.layers * (h * s.hidden + f * s.ffn + score * s.heads * ctx) + vocab * s.vocab);
}

/**
 * What the backward pass holds beyond the activations, whatever the batch: the token
 * embedding's transposed copy for the head, the head's and the lookup's gradients and their
 * sum (4 matrices of vocab x hidden), and about a quarter of the weights' size in gradients
 * of intermediates tfjs keeps until the pass ends (tf.profile at 124M: 1.37 GB above the
 * weights and moments at ctx 16, of which 0.5 GB are the gradients).
 */
function backwardBytes(s: Shape, parameters: number): number {
  return F32 * (4 * s.vocab * s.hidden + 0.25 * parameters);
}

/** Training with AdamW in float32: 16 bytes per parameter plus the activations of one micro-batch and the backward pass's extra. */
export function trainEstimate(family: ModelConfig['family'], s: Shape, batch: number, ctx: number): MemoryEstimate {
  const parameters = shapeParameters(family, s);
  const weights = F32 * parameters;
  const activations = activationBytes(s, batch, ctx, true) + backwardBytes(s, parameters);
  return { parameters, weights, gradients: weights, optimizer: 2 * weights, activations, total: 4 * weights + activations };
}

/** Evaluation: the weights and one forward pass. */
export function evalEstimate(family: ModelConfig['family'], s: Shape, batch: number, ctx: number): MemoryEstimate {
  const parameters = shapeParameters(family, s);
  const weights = F32 * parameters;
  const activations = activationBytes(s, batch, ctx, false);
  return { parameters, weights, gradients: 0, optimizer: 0, activations, total: weights + activations };
}

/** Bytes as a short human string (GB with one decimal, MB below 1 GB). */
export function formatBytes(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(1)} TB`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  return `${Math.max(1, Math.round(n / 1e6))} MB`;
}

/** A parameter count as a short human string (124M, 1.4B). */
export function formatParameters(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(1)}T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  return `${Math.round(n / 1e6)}M`;
}
