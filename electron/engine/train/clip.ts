/** Global-norm gradient clipping: every gradient is scaled by min(1, maxNorm / ||g||). */
import * as tf from '@tensorflow/tfjs-core';

/** The global L2 norm of all gradients, as a scalar tensor. */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/**
 * Returns the clipped gradients (new tensors; the inputs are not disposed) and the norm
 * before clipping. `maxNorm` <= 0 or Infinity disables clipping (the gradients are cloned).
 */
export async function clipByGlobalNorm(grads: Record<string, tf.Tensor>, maxNorm: number): Promise<{ grads: Record<string, tf.Tensor>; norm: number }> {
  const normT = globalNorm(grads);
  const norm = (await normT.data())[0]!; // data(), not dataSync(): WebGPU in Node reads asynchronously only
  normT.dispose();
  const scale = maxNorm > 0 && Number.isFinite(maxNorm) && norm > maxNorm ? maxNorm / norm : 1;
  const out: Record<string, tf.Tensor> = {};
  for (const [name, g] of Object.entries(grads)) out[name] = scale === 1 ? tf.clone(g) : tf.tidy(() => tf.mul(g, scale));
  return { grads: out, norm };
}
