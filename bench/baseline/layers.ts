// @ts-nocheck -- a frozen copy of the commit-8b5a60f forward code, kept only as the "before" of `npm run bench`.
/**
 * The building blocks both model families share, written so that every backend can train
 * them: matrix products whose gradients use explicit transposes (the wasm backend's
 * transposed matMul paths are 10-25x slower), and an embedding lookup and label pick whose
 * gradients use scatterND (the wasm backend has no gradient for gather).
 */
import * as tf from '@tensorflow/tfjs-core';

/** y = x · W for x [N, in] and W [in, out] (GPT-2 Conv1D layout). Returns [N, out]. */
export function matmulIO(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
        // dx [N, in] = dy [N, out] · Wᵀ [out, in]; dW [in, out] = xᵀ [in, N] · dy [N, out]
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

/** y = x · Wᵀ for x [N, in] and W [out, in] (torch Linear layout). Returns [N, out]. */
export function matmulOI(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: tf.matMul(a as tf.Tensor2D, tf.transpose(b as tf.Tensor2D)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
        // dx [N, in] = dy [N, out] · W [out, in]; dW [out, in] = dyᵀ [out, N] · x [N, in]
        return [tf.matMul(dy as tf.Tensor2D, sb), tf.matMul(tf.transpose(dy as tf.Tensor2D), sa)];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

function swapLast(t: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(t, [0, 1, 3, 2]);
}

/** Batched a · b for a [B, H, M, K], b [B, H, K, N]. Returns [B, H, M, N]. */
export function bmm(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  const f = tf.customGrad((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor4D, y as tf.Tensor4D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [tf.matMul(dy as tf.Tensor4D, swapLast(sy)), tf.matMul(swapLast(sx), dy as tf.Tensor4D)];
      },
    };
  });
  return f(a, b) as tf.Tensor4D;
}

/** Batched a · bᵀ for a [B, H, M, K], b [B, H, N, K]. Returns [B, H, M, N]. */
export function bmmT(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  const f = tf.customGrad((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x, y]);
    return {
      value: tf.matMul(x as tf.Tensor4D, swapLast(y as tf.Tensor4D)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor4D, tf.Tensor4D];
        // dx [B,H,M,K] = dy [B,H,M,N] · y [B,H,N,K]; dy_y [B,H,N,K] = dyᵀ [B,H,N,M] · x [B,H,M,K]
        return [tf.matMul(dy as tf.Tensor4D, sy), tf.matMul(swapLast(dy as tf.Tensor4D), sx)];
      },
    };
  });
  return f(a, b) as tf.Tensor4D;
}

/** Rows of `table` [V, D] at `ids` [N] (int32). Returns [N, D]. Gradient via scatterND. */
export function embed(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const [vocab, dim] = table.shape;
  // `ids` is saved (kept) for the backward pass: the caller's tidy may dispose the original.
  const f = tf.customGrad((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ids]);
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.scatterND(tf.reshape(saved[0]!, [-1, 1]), dy, [vocab, dim])],
    };
  });
  return f(table) as tf.Tensor2D;
}

/** x[i, labels[i]] for x [N, V] and labels [N] (int32). Returns [N]. Gradient via scatterND. */
export function pickLabels(x: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const [n, v] = x.shape;
  const flatIdx = tf.tidy(() => tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32')), labels));
  const f = tf.customGrad((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([flatIdx]);
    return {
      value: tf.gather(tf.reshape(t, [-1]), flatIdx),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.reshape(tf.scatterND(tf.reshape(saved[0]!, [-1, 1]), dy, [n * v]), [n, v])],
    };
  });
  const out = f(x) as tf.Tensor1D;
  flatIdx.dispose();
  return out;
}

/** LayerNorm over the last axis (biased variance, as torch). x [N, D]. */
export function layerNorm(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gain), bias);
}

/** RMSNorm as HF Llama: x * rsqrt(mean(x^2) + eps) * weight. x [N, D]. */
export function rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight);
}

/** GELU, tanh form (`gelu_new`): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** GELU, exact erf form. */
export function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1));
}

/** A [T, T] additive causal mask: 0 on and below the diagonal, -1e9 above. */
export function causalMask(t: number): tf.Tensor2D {
  const m = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) m[i * t + j] = -1e9;
  return tf.tensor2d(m, [t, t]);
}

/**
 * Causal self-attention on heads already split: q [B, H, T, hd], k and v [B, H, T, hd].
 * Returns [B*T, H*hd].
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor2D): tf.Tensor2D {
  const [b, h, t, hd] = q.shape;
  const scores = tf.add(tf.mul(bmmT(q, k), 1 / Math.sqrt(hd)), mask); // [B, H, T, T]
  const probs = tf.softmax(scores) as tf.Tensor4D;
  const out = bmm(probs, v); // [B, H, T, hd]
  return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b * t, h * hd]); // [B*T, H*hd]
}

/** [B*T, H*hd] -> [B, H, T, hd] */
export function splitHeads(x: tf.Tensor2D, b: number, t: number, h: number, hd: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(x, [b, t, h, hd]), [0, 2, 1, 3]);
}
