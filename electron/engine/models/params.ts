/** Model parameters as named tensors, in Hugging Face names and layouts. */
import type * as tf from '@tensorflow/tfjs-core';

/** Tensors keyed by their Hugging Face names (GPT-2 with the `transformer.` prefix). */
export type Params = Record<string, tf.Tensor>;

export interface TensorSpec {
  name: string;
  shape: number[];
}

export interface ForwardOptions {
  /** Also return the residual stream after every block and after the final norm, each [B*T, D]. */
  collectHidden?: boolean;
}

export interface ForwardResult {
  logits: tf.Tensor3D; // [B, T, V]
  hidden?: tf.Tensor2D[];
}

export function param(p: Params, name: string): tf.Tensor {
  const t = p[name];
  if (!t) throw new Error(`missing parameter '${name}'`);
  return t;
}
