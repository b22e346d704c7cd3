/**
 * The building blocks both model families share, written so that every backend can train
 * them: matrix products whose gradients use explicit transposes (the wasm backend's
 * transposed matMul paths are 10-25x slower), and an embedding lookup and label pick whose
 * gradients use scatterND (the wasm backend has no gradient for gather). On WebGPU the same
 * functions run Scion's WGSL kernels instead (webgpu/ops.ts), one dispatch where the generic
 * form takes several.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as wg from '../webgpu/ops.ts';
import { perOpOn } from '../kernels/per-op.ts';
import { normKernelsFit, runNorm, runNormGrad } from '../kernels/norm-kernels.ts';

/** The result of a custom-gradient op's forward part. */
interface CustomResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/**
 * tf.customGrad for a forward part `(x1, ..., xn, save)`, a signature tfjs's own declaration
 * cannot express. The gradient runs in its own tidy: tfjs keeps everything a backward pass
 * creates until the pass ends, so the weights' transposes and other temporaries of every
 * layer would otherwise pile up (about the size of all weights again at 124M parameters).
 */
export function customOp<A extends [...tf.Tensor[], tf.GradSaveFunc]>(f: (...args: A) => CustomResult): (...inputs: tf.Tensor[]) => tf.Tensor {
  const tidyGrad = (...args: A): CustomResult => {
    const r = f(...args);
    return { value: r.value, gradFunc: (dy, saved) => tf.tidy(() => r.gradFunc(dy, saved)) };
  };
  return tf.customGrad(tidyGrad as unknown as Parameters<typeof tf.customGrad>[0]);
}

/** y = x · W for x [N, in] and W [in, out] (GPT-2 Conv1D layout). Returns [N, out]. */
export function matmulIO(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (wg.webgpuKernelsOn()) return wg.matmul(x, w, false);
  const f = customOp((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
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
  if (wg.webgpuKernelsOn()) return wg.matmul(x, w, true);
  const f = customOp((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
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

/** y = x · Wᵀ + b for x [N, in], W [out, in] (torch Linear layout), b [out] (none: no bias). Returns [N, out]. */
export function linearOI(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  const y = matmulOI(x, w);
  return b ? tf.add(y, b) : y;
}

function swapLast(t: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(t, [0, 1, 3, 2]);
}

/**
 * y = x · C for x [N, in] and a constant C [in, out] that takes no gradient (e.g. RoPE's
 * rotate-half matrix), with `ct` = Cᵀ [out, in] given. Only dx [N, in] = dy · Cᵀ is computed:
 * no transposes of x and no product for C's gradient, which nothing would use. Returns [N, out].
 */
export function matmulConst(x: tf.Tensor2D, c: tf.Tensor2D, ct: tf.Tensor2D): tf.Tensor2D {
  // `ct` is saved (kept) for the backward pass: the caller's tidy may dispose the original.
  const f = customOp((a: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ct]);
    return {
      value: tf.matMul(a as tf.Tensor2D, c),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(dy as tf.Tensor2D, saved[0] as tf.Tensor2D)],
    };
  });
  return f(x) as tf.Tensor2D;
}

/** Batched a · b for a [B, H, M, K], b [B, H, K, N]. Returns [B, H, M, N]. */
export function bmm(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  const f = customOp((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
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
  const f = customOp((x: tf.Tensor, y: tf.Tensor, save: tf.GradSaveFunc) => {
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
  if (wg.webgpuKernelsOn()) return wg.embed(table, ids); // a deterministic gradient (no atomic adds)
  const [vocab, dim] = table.shape;
  // `ids` is saved (kept) for the backward pass: the caller's tidy may dispose the original.
  const f = customOp((t: tf.Tensor, save: tf.GradSaveFunc) => {
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
  const f = customOp((t: tf.Tensor, save: tf.GradSaveFunc) => {
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

/** Column sums of x [N, F] as a matrix product ones[1, N] · x (much faster than sum over axis 0 on wasm). Returns [F]. */
function columnSums(x: tf.Tensor2D): tf.Tensor1D {
  const [n, f] = x.shape;
  return tf.reshape(tf.matMul(tf.ones([1, n]), x), [f]);
}

/** y = x · W + b for x [N, in], W [in, out] (GPT-2 Conv1D layout), b [out]. One tape node. Returns [N, out]. */
export function affineIO(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (wg.webgpuKernelsOn()) return wg.affineIO(x, w, b);
  const f = customOp((a: tf.Tensor, wt: tf.Tensor, bias: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a, wt]);
    return {
      value: tf.add(tf.matMul(a as tf.Tensor2D, wt as tf.Tensor2D), bias),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D; // [N, out]
        // dx = dy · Wᵀ; dW = xᵀ · dy; db = column sums of dy
        return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(sa), g), columnSums(g)];
      },
    };
  });
  return f(x, w, b) as tf.Tensor2D;
}

/**
 * LayerNorm (with `bias`) or RMSNorm (without) of x [N, D] on the wasm backend's norm kernels
 * (kernels/norm-kernels.ts): one kernel forward, one backward, one tape node. Returns [N, D].
 */
function kernelNorm(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D | undefined, eps: number): tf.Tensor2D {
  const forward = (xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor | undefined, save: tf.GradSaveFunc): CustomResult => {
    const [y, xhat, rstd] = runNorm(xi as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D | undefined, eps);
    save([xhat, rstd, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxhat, srstd, sg] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        return runNormGrad(dy as tf.Tensor2D, sxhat, srstd, sg, !b); // dx, dgain (, dbias)
      },
    };
  };
  if (bias) return customOp((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => forward(xi, g, b, save))(x, gain, bias) as tf.Tensor2D;
  return customOp((xi: tf.Tensor, g: tf.Tensor, save: tf.GradSaveFunc) => forward(xi, g, undefined, save))(x, gain) as tf.Tensor2D;
}

/**
 * LayerNorm over the last axis (biased variance, as torch). x [N, D]. The gradient is
 * written out (one tape node, row means instead of the generic broadcast reductions).
 */
export function layerNorm(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (wg.webgpuKernelsOn()) return wg.norm(x, gain, bias, eps);
  if (perOpOn() && normKernelsFit(x.shape[1])) return kernelNorm(x, gain, bias, eps);
  const f = customOp((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    const mean = tf.mean(xi, -1, true); // [N, 1]
    const xc = tf.sub(xi, mean); // [N, D]
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps)); // [N, 1]
    const xhat = tf.mul(xc, rstd); // [N, D]
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxhat, srstd, sg] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const dxhat = tf.mul(dy, sg); // [N, D]
        // dx = rstd · (dxhat - mean(dxhat) - xhat · mean(dxhat · xhat))
        const dx = tf.mul(tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(sxhat, tf.mean(tf.mul(dxhat, sxhat), -1, true))), srstd);
        return [dx, columnSums(tf.mul(dy, sxhat) as tf.Tensor2D), columnSums(dy as tf.Tensor2D)];
      },
    };
  });
  return f(x, gain, bias) as tf.Tensor2D;
}

/** RMSNorm as HF Llama: x * rsqrt(mean(x^2) + eps) * weight. x [N, D]. Gradient written out. */
export function rmsNorm(x: tf.Tensor2D, weight: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (wg.webgpuKernelsOn()) return wg.norm(x, weight, undefined, eps);
  if (perOpOn() && normKernelsFit(x.shape[1])) return kernelNorm(x, weight, undefined, eps);
  const f = customOp((xi: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(xi), -1, true), eps)); // [N, 1]
    const xr = tf.mul(xi, r); // [N, D]
    save([xr, r, w]);
    return {
      value: tf.mul(xr, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxr, sr, sw] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const dxr = tf.mul(dy, sw); // [N, D]
        // dx = r · (dxr - xr · mean(dxr · xr))
        const dx = tf.mul(tf.sub(dxr, tf.mul(sxr, tf.mean(tf.mul(dxr, sxr), -1, true))), sr);
        return [dx, columnSums(tf.mul(dy, sxr) as tf.Tensor2D)];
      },
    };
  });
  return f(x, weight) as tf.Tensor2D;
}

/**
 * GELU, tanh form (`gelu_new`): 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3),
 * computed as x · sigmoid(2u), the same function (0.5 (1 + tanh(u)) = sigmoid(2u)): the
 * wasm backend's sigmoid is vectorised, its tanh is ~20x slower. Gradient written out:
 * s + x s (1 - s) 2 sqrt(2/pi) (1 + 3 · 0.044715 x^2), s = sigmoid(2u).
 */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  if (wg.webgpuKernelsOn()) return wg.geluTanh(x);
  const c2 = 2 * Math.sqrt(2 / Math.PI);
  const f = customOp((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const x2 = tf.square(xi);
    const s = tf.sigmoid(tf.mul(tf.mul(xi, tf.add(tf.mul(x2, 0.044715), 1)), c2)); // sigmoid(2u)
    save([xi, x2, s]);
    return {
      value: tf.mul(xi, s),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sx2, ss] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const du = tf.mul(tf.add(tf.mul(sx2, 3 * 0.044715), 1), c2); // d(2u)/dx
        return [tf.mul(dy, tf.add(ss, tf.mul(tf.mul(sx, tf.mul(ss, tf.sub(1, ss))), du)))];
      },
    };
  });
  return f(x);
}

/** SiLU(gate) * up (Llama's MLP), gate and up of one shape. */
export function siluMul(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  if (wg.webgpuKernelsOn()) return wg.siluMul(gate, up);
  if (!perOpOn()) return tf.mul(tf.mul(gate, tf.sigmoid(gate)), up);
  // One tape node (tfjs's own gradients of mul, mul and sigmoid take about 17 kernels and 5 saved copies):
  // with s = sigmoid(g): d/dg = dy u s (1 + g (1 - s)), d/du = dy g s
  const f = customOp((g: tf.Tensor, u: tf.Tensor, save: tf.GradSaveFunc) => {
    const s = tf.sigmoid(g);
    const gs = tf.mul(g, s);
    save([g, u, s, gs]);
    return {
      value: tf.mul(gs, u),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sg, su, ss, sgs] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const dGate = tf.mul(tf.mul(dy, su), tf.mul(ss, tf.add(tf.mul(sg, tf.sub(1, ss)), 1)));
        return [dGate, tf.mul(dy, sgs)];
      },
    };
  });
  return f(gate, up);
}

/** GELU, exact erf form. */
export function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1));
}

/**
 * A [T, T] additive causal mask: 0 where query i may read key j (j <= i, and with a sliding
 * `window`, also j > i - window), -1e9 elsewhere.
 */
export function causalMask(t: number, window = Infinity): tf.Tensor2D {
  const m = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = 0; j < t; j++) if (j > i || j <= i - window) m[i * t + j] = -1e9;
  return tf.tensor2d(m, [t, t]);
}

/**
 * Causal self-attention on heads already split: q [B, H, T, hd], k and v [B, K, T, hd] with
 * K dividing H (grouped-query attention: query head i reads KV head floor(i / (H/K)), as HF
 * repeat_kv). `mask` is the [T, T] additive causal mask. Returns [B*T, H*hd].
 * The query heads of a group are stacked along the rows ([B, K, r*T, hd]) so that no KV head
 * is copied, and the whole softmax(q·kᵀ/sqrt(hd) + mask)·v is one tape node whose gradient
 * uses only plain (untransposed) batched products.
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor2D, plainCausal = true): tf.Tensor2D {
  // WebGPU's kernel is causal by construction (`mask` unused): a sliding window (`plainCausal` false) takes the generic path.
  if (plainCausal && wg.webgpuKernelsOn()) return wg.causalAttention(q, k, v);
  const [b, h, t, hd] = q.shape;
  const kvHeads = k.shape[1];
  const r = h / kvHeads;
  const scale = 1 / Math.sqrt(hd);
  const rowMask = r === 1 ? mask : (tf.tile(mask, [r, 1]) as tf.Tensor2D); // [r*T, T]
  const f = customOp((qg: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor, save: tf.GradSaveFunc) => {
    const scores = tf.add(tf.mul(tf.matMul(qg as tf.Tensor4D, swapLast(kk as tf.Tensor4D)), scale), rowMask); // [B, K, r*T, T]
    const probs = tf.softmax(scores) as tf.Tensor4D;
    save([qg, kk, vv, probs]);
    return {
      value: tf.matMul(probs, vv as tf.Tensor4D), // [B, K, r*T, hd]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, sp] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const dO = dy as tf.Tensor4D; // [B, K, r*T, hd]
        const dP = tf.matMul(dO, swapLast(sv)); // [B, K, r*T, T]
        const dV = tf.matMul(swapLast(sp), dO); // [B, K, T, hd]
        const dS = tf.mul(tf.mul(sp, tf.sub(dP, tf.sum(tf.mul(dP, sp), -1, true))), scale) as tf.Tensor4D; // [B, K, r*T, T]
        const dQ = tf.matMul(dS, sk); // [B, K, r*T, hd]
        const dK = tf.matMul(swapLast(dS), sq); // [B, K, T, hd]
        return [dQ, dK, dV];
      },
    };
  });
  const out = f(tf.reshape(q, [b, kvHeads, r * t, hd]), k, v) as tf.Tensor4D; // [B, K, r*T, hd]
  if (rowMask !== mask) rowMask.dispose();
  return tf.reshape(tf.transpose(tf.reshape(out, [b, h, t, hd]), [0, 2, 1, 3]), [b * t, h * hd]); // [B*T, H*hd]
}

/**
 * Causal self-attention from a fused projection qkv [B*T, 3 H hd] (q | k | v side by side,
 * GPT-2's c_attn). `mask` is the [T, T] additive causal mask. Returns [B*T, H*hd]. On WebGPU
 * the kernels read qkv as it is; elsewhere it is split into heads first.
 */
export function causalSelfAttentionQkv(qkv: tf.Tensor2D, b: number, t: number, h: number, mask: tf.Tensor2D): tf.Tensor2D {
  if (wg.webgpuKernelsOn()) return wg.causalAttentionQkv(qkv, b, t, h);
  const hd = qkv.shape[1] / (3 * h);
  const [q, k, v] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]; // each [B*T, H*hd]
  return causalAttention(splitHeads(q, b, t, h, hd), splitHeads(k, b, t, h, hd), splitHeads(v, b, t, h, hd), mask);
}

/** [B*T, H*hd] -> [B, H, T, hd] */
export function splitHeads(x: tf.Tensor2D, b: number, t: number, h: number, hd: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(x, [b, t, h, hd]), [0, 2, 1, 3]);
}
