/**
 * What a piece of work will hold in memory, from the config alone (no tensor allocated):
 * weights, gradients, AdamW's two moments and the activations of one micro-batch.
 *
 * Activations: tfjs keeps every intermediate of the forward pass for the backward pass. Per
 * token and block that is about 16 floats per hidden unit and 10 per MLP unit (norms, q/k/v
 * and their transposes, the MLP and its activation's pieces) plus 4 per attention score
 * (heads x ctx: the softmax kept for the backward pass, and the scores while it is built).
 * With `recompute` (train/recompute.ts) only each block's input is kept (1 float per hidden
 * unit and block) and one block's intermediates at a time. The head and loss run in token
 * chunks (eval/head-loss.ts): about 6 floats per vocabulary entry for the chunk's rows, plus 4
 * per hidden unit and token around it. Evaluation (one forward pass in one tidy) keeps
 * 12 / 8 / 2 per block and 4 per vocabulary entry and token. The constants are tf.profile's
 * peak bytes of whole training steps on the wasm backend (GPT-2 shapes d 256-512, 4-8 blocks,
 * vocab 8192-32768, 256-512 tokens, with and without recompute: the estimate is 12-30% above
 * each; see the ctx256 note), rounded up.
 */
import type { ModelConfig } from '../models/config.ts';
import { modelShape } from '../models/config.ts';

const F32 = 4;
/** Floats per token and block: [per hidden unit, per MLP unit, per attention score]. */
const TRAIN_BLOCK = [16, 10, 4] as const;
/** Per token of a training pass outside the blocks: floats per hidden unit (the head's input and its gradient, the embedding's). */
const TRAIN_HEAD_HIDDEN = 4;
/** Floats per vocabulary entry and row of a head chunk (logits, log-softmax, its exponent, the gradient, its transpose). */
const TRAIN_CHUNK_VOCAB = 6;
/** Per token and block with recomputation: the block's input kept, and the gradient passed between blocks. */
const RECOMPUTE_KEPT = 1;
const RECOMPUTE_EXTRA = 2;
/** Evaluation: floats per token [per hidden unit, per MLP unit, per attention score] and block, and per vocabulary entry. */
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

/** Rows per chunk of the head and loss (eval/head-loss.ts headChunkRows: 2^22 floats of logits). */
function headChunkRows(vocab: number): number {
  return Math.max(1, Math.floor(2 ** 22 / vocab));
}

/**
 * Activation bytes of one forward + backward over batch x ctx tokens (`training`, the head in
 * token chunks; `recompute`: one block's intermediates at a time), or one forward (evaluation).
 */
export function activationBytes(s: Shape, batch: number, ctx: number, training: boolean, recompute = false): number {
  const tokens = batch * ctx;
  if (!training) {
    const [h, f, score, vocab] = EVAL_ACT;
    return F32 * tokens * (s.layers * (h * s.hidden + f * s.ffn + score * s.heads * ctx) + vocab * s.vocab);
  }
  const [h, f, score] = TRAIN_BLOCK;
  const block = h * s.hidden + f * s.ffn + score * s.heads * ctx; // one block's floats per token
  const blocks = recompute ? (RECOMPUTE_KEPT * s.layers + RECOMPUTE_EXTRA) * s.hidden + block : s.layers * block;
  const head = TRAIN_CHUNK_VOCAB * Math.min(tokens, headChunkRows(s.vocab)) * s.vocab;
  return F32 * (tokens * (blocks + TRAIN_HEAD_HIDDEN * s.hidden) + head);
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
export function trainEstimate(family: ModelConfig['family'], s: Shape, batch: number, ctx: number, recompute = false): MemoryEstimate {
  const parameters = shapeParameters(family, s);
  const weights = F32 * parameters;
  const activations = activationBytes(s, batch, ctx, true, recompute) + backwardBytes(s, parameters);
  return { parameters, weights, gradients: weights, optimizer: 2 * weights, activations, total: 4 * weights + activations };
}

/**
 * Data-parallel training on `threads` ranks (train/parallel/), each rank's rows in pieces of
 * at most `rows`: the training process (rank 0) holds what one thread does (weights, moments,
 * its gradient by name; the all-reduce and the update run in shared memory, so nothing more)
 * plus the running sum when it takes several pieces; each compute thread holds a replica of
 * the weights, its gradient by name (and the running sum with several pieces) and one piece's
 * activations; the shared buffers hold the parameters, both moments and one gradient per rank.
 * On wasm every thread has its own heap.
 */
export interface ThreadedEstimate {
  threads: number;
  rank0: MemoryEstimate;
  /** Bytes each compute thread holds. */
  replica: number;
  /** The shared buffers (outside the backends' heaps). */
  shared: number;
  /** Everything, for this machine's memory. */
  total: number;
}

export function threadedTrainEstimate(
  family: ModelConfig['family'],
  s: Shape,
  rows: number,
  ctx: number,
  threads: number,
  pieces: number,
  recompute = false,
): ThreadedEstimate {
  const one = trainEstimate(family, s, rows, ctx, recompute);
  const w = one.weights;
  const sum = pieces > 1 ? w : 0; // the running sum of several pieces' gradients
  const rank0: MemoryEstimate = { ...one, gradients: w + sum, total: one.total + sum };
  const replica = 2 * w + sum + one.activations;
  const shared = (3 + threads) * w;
  return { threads, rank0, replica, shared, total: rank0.total + (threads - 1) * replica + shared };
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
