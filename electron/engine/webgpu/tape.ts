/** The two helpers Scion's WebGPU ops are written with: a custom-gradient tape node, and a kernel call by name. */
import * as tf from '@tensorflow/tfjs-core';

export interface CustomResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/** tf.customGrad for a forward part `(x1, ..., xn, save)`, which tfjs's declaration cannot express. */
export function customOp<A extends [...tf.Tensor[], tf.GradSaveFunc]>(f: (...args: A) => CustomResult): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]);
}

/** Runs the registered kernel `name` on the engine (tracked, profiled, disposed like any op). */
export function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): tf.Tensor {
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
