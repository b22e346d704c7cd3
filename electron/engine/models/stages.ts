/**
 * A decoder split into the stages of its forward pass: the embedding, each block, the final
 * norm and the head. `forward` runs them in one go (runStages); training can run them one at
 * a time instead: per-block recomputation (train/recompute.ts) keeps only each block's input
 * and recomputes the block in the backward pass, and the token-chunked head (eval/head-loss.ts)
 * never builds the logits of the whole batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matmulOI } from './layers.ts';
import { type ForwardOptions, type ForwardResult, type Params, param } from './params.ts';

export interface DecoderStages {
  layers: number;
  /** Parameter names each stage reads (every parameter of the model is in exactly one stage, the tied head aside). */
  embedParams: string[];
  blockParams(i: number): string[];
  finalParams: string[];
  /** The head's weight [V, D] (the token embedding when tied). */
  head: string;
  /** The residual stream after the embedding: [B*T, D]. */
  embed(): tf.Tensor2D;
  /** Block i on the residual stream x [B*T, D]. Returns [B*T, D]. */
  block(i: number, x: tf.Tensor2D): tf.Tensor2D;
  /** The final norm of x [B*T, D]. Returns [B*T, D]. */
  final(x: tf.Tensor2D): tf.Tensor2D;
  /** Disposes the constants the stages share (masks, RoPE tables). */
  dispose(): void;
}

/** The names of `p` under `prefix` (a block's parameters: `transformer.h.3.`). */
export function namesUnder(p: Params, prefix: string): string[] {
  return Object.keys(p).filter((n) => n.startsWith(prefix));
}

/** The whole forward pass of `stages` over ids [B, T]: logits [B, T, V] (and the hidden states with `collectHidden`). */
export function runStages(make: () => DecoderStages, p: Params, ids: tf.Tensor2D, vocab: number, opts: ForwardOptions = {}): ForwardResult {
  const [b, t] = ids.shape;
  const hidden: tf.Tensor2D[] = [];
  const logits = tf.tidy(() => {
    const st = make(); // its constants are this tidy's
    let x = st.embed(); // [B*T, D]
    for (let i = 0; i < st.layers; i++) {
      x = st.block(i, x);
      if (opts.collectHidden) hidden.push(tf.keep(tf.clone(x)));
    }
    const xf = st.final(x);
    if (opts.collectHidden) hidden.push(tf.keep(tf.clone(xf)));
    const out = matmulOI(xf, param(p, st.head) as tf.Tensor2D); // [B*T, V]
    return tf.reshape(out, [b, t, vocab]) as tf.Tensor3D;
  });
  return opts.collectHidden ? { logits, hidden } : { logits };
}
