/**
 * The training ops on Scion's WebGPU kernels (kernels.ts), each one tape node with its
 * gradient written out, called by models/layers.ts and eval/loss.ts while the kernels are on
 * (`webgpuKernelsOn`: the webgpu backend is active and SCION_WEBGPU_KERNELS is not 0).
 * Same functions and shapes as the generic forms in layers.ts; the matrix products use
 * the backend's transpose flags and its fused bias epilogue instead of explicit transposes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ATTENTION_KERNELS, type AttnLayout, fusedQkvLayout, headMajorLayout } from './kernels-attention.ts';
import { registerScionKernels } from './kernels.ts';
import { affineF16, matmulF16, matmulPrecision } from './ops-f16.ts';
import { customOp, run } from './tape.ts';

let enabled = process.env['SCION_WEBGPU_KERNELS'] !== '0';

/** Whether the layers use Scion's WebGPU kernels now. */
export function webgpuKernelsOn(): boolean {
  if (!enabled || tf.getBackend() !== 'webgpu') return false;
  registerScionKernels();
  return true;
}

/** Turns the kernels on or off (the bench times both in one run). */
export function setWebgpuKernels(on: boolean): void {
  enabled = on;
}

/** LayerNorm (bias given) or RMSNorm (no bias) of x [N, D]. Returns [N, D]. */
export function norm(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D | undefined, eps: number): tf.Tensor2D {
  const rms = bias === undefined;
  const f = customOp((...args: [...tf.Tensor[], tf.GradSaveFunc]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, g, b] = args as tf.Tensor[];
    save([xi!, g!]);
    return {
      value: run('ScionNorm', rms ? { x: xi!, g: g! } : { x: xi!, g: g!, b: b! }, { eps, rms }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg] = saved as [tf.Tensor, tf.Tensor];
        const stats = run('ScionNormStats', { x: sx }, { eps, rms }); // [N, 2]
        const dx = run('ScionNormDx', { x: sx, g: sg, dy, stats }, { rms });
        const dg = run('ScionNormDGain', { x: sx, dy, stats });
        stats.dispose();
        return rms ? [dx, dg] : [dx, dg, run('ScionColSum', { x: dy })];
      },
    };
  });
  return (rms ? f(x, gain) : f(x, gain, bias)) as tf.Tensor2D;
}

/** Rows of `table` [V, D] at `ids` [N] (int32); the gradient sums in position order (kernels-embed.ts). Returns [N, D]. */
export function embed(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const vocab = table.shape[0];
  const f = customOp((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([ids]);
    return { value: tf.gather(t, ids), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [run('ScionEmbedGrad', { dy, ids: saved[0]! }, { vocab })] };
  });
  return f(table) as tf.Tensor2D;
}

/** GELU, tanh form. */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const f = customOp((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi]);
    return { value: run('ScionGelu', { x: xi }), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [run('ScionGeluGrad', { x: saved[0]!, dy })] };
  });
  return f(x);
}

/** RoPE (cos, sin [T, hd]) applied to x [B*T, H*hd] while splitting its heads. Returns [B, H, T, hd]. */
export function ropeHeads(x: tf.Tensor2D, cos: tf.Tensor2D, sin: tf.Tensor2D, b: number, t: number, h: number): tf.Tensor4D {
  const shape = [b, t, h, x.shape[1] / h];
  const f = customOp((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([cos, sin]);
    return {
      value: run('ScionRope', { x: xi, cos, sin }, { shape }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [run('ScionRopeGrad', { dy, cos: saved[0]!, sin: saved[1]! }, { shape })],
    };
  });
  return f(x) as tf.Tensor4D;
}

/** SiLU(gate) * up, elementwise (Llama's MLP). */
export function siluMul(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const f = customOp((g: tf.Tensor, u: tf.Tensor, save: tf.GradSaveFunc) => {
    save([g, u]);
    return {
      value: run('ScionSiluMul', { g, u }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const ins = { g: saved[0]!, u: saved[1]!, dy };
        return [run('ScionSiluMulGradG', ins), run('ScionSiluMulGradU', ins)];
      },
    };
  });
  return f(gate, up);
}

/** -log softmax(x)[label] per row, for logits x [N, V] and labels [N] (int32). Returns [N]. */
export function nllRows(x: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const f = customOp((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi, labels]);
    return {
      value: run('ScionNll', { x: xi, labels }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [run('ScionNllGrad', { x: saved[0]!, labels: saved[1]!, dy })],
    };
  });
  return f(x) as tf.Tensor1D;
}

/** y = x · W + b, x [N, in], W [in, out]: one product with the bias in its epilogue. Returns [N, out]. */
export function affineIO(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (matmulPrecision() === 'f16') return affineF16(x, w, b);
  const f = customOp((a: tf.Tensor, wt: tf.Tensor, bias: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a, wt]);
    return {
      value: tf.fused.matMul({ a: a as tf.Tensor2D, b: wt as tf.Tensor2D, bias }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        return [tf.matMul(g, sw, false, true), tf.matMul(sa, g, true, false), run('ScionColSum', { x: g })];
      },
    };
  });
  return f(x, w, b) as tf.Tensor2D;
}

/** y = x · W (W [in, out]) or x · Wᵀ (W [out, in], `transposed`), with transpose flags. Returns [N, out]. */
export function matmul(x: tf.Tensor2D, w: tf.Tensor2D, transposed: boolean): tf.Tensor2D {
  if (matmulPrecision() === 'f16') return matmulF16(x, w, transposed);
  const f = customOp((a: tf.Tensor, wt: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a, wt]);
    return {
      value: tf.matMul(a as tf.Tensor2D, wt as tf.Tensor2D, false, transposed),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        // dx = dy · Wᵀ (or dy · W); dW = xᵀ · dy (or dyᵀ · x)
        return transposed ? [tf.matMul(g, sw), tf.matMul(g, sa, true, false)] : [tf.matMul(g, sw, false, true), tf.matMul(sa, g, true, false)];
      },
    };
  });
  return f(x, w) as tf.Tensor2D;
}

/**
 * The attention tape node over `inputs` (q, k, v tensors, or the one fused q|k|v tensor) read
 * through `layout`. Forward: row log-sum-exp, then the output [B*T, H*hd]; backward: delta,
 * then dQ, dK, dV in the inputs' layout (for the fused tensor, all three into one gradient).
 */
function attention(inputs: tf.Tensor[], layout: AttnLayout): tf.Tensor2D {
  const fused = inputs.length === 1;
  const qkv = (xs: tf.Tensor[]) => (fused ? { q: xs[0]!, k: xs[0]!, v: xs[0]! } : { q: xs[0]!, k: xs[1]!, v: xs[2]! });
  const f = customOp((...args: [...tf.Tensor[], tf.GradSaveFunc]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xs = args.slice(0, -1) as tf.Tensor[];
    const { q, k, v } = qkv(xs);
    const lse = run('ScionAttnLse', { q, k }, { layout }); // [B*H*T]
    const out = run('ScionAttn', { q, k, v, lse }, { layout }); // [B*T, H*hd]
    save([...xs, lse, out]);
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const n = saved.length - 2;
        const [slse, so] = saved.slice(n);
        const { q, k, v } = qkv(saved.slice(0, n));
        const delta = run('ScionAttnDelta', { dout: dy, out: so! }, { layout });
        const ins = { q, k, v, lse: slse!, dout: dy, delta };
        const backend = tf.backend() as WebGPUBackend;
        let grads: tf.Tensor[];
        if (fused) {
          // one [B*T, 3D] gradient: dQ's dispatch makes it, dK's and dV's write their columns into it
          const g = run('ScionAttnDq', ins, { layout, outShape: q.shape });
          for (const name of ['ScionAttnDk', 'ScionAttnDv']) ATTENTION_KERNELS[name]!({ inputs: ins, backend, attrs: { layout, outShape: q.shape, into: g } });
          grads = [g];
        } else
          grads = [
            run('ScionAttnDq', ins, { layout, outShape: q.shape }),
            run('ScionAttnDk', ins, { layout, outShape: k.shape }),
            run('ScionAttnDv', ins, { layout, outShape: v.shape }),
          ];
        delta.dispose();
        return grads;
      },
    };
  });
  return f(...inputs) as tf.Tensor2D;
}

/** Causal attention of q [B, H, T, hd] over k and v [B, KH, T, hd] (KH divides H: grouped KV heads). Returns [B*T, H*hd]. */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor2D {
  const [b, h, t, hd] = q.shape;
  return attention([q, k, v], headMajorLayout(b, h, k.shape[1], t, hd));
}

/** Causal attention straight from GPT-2's fused projection qkv [B*T, 3 H hd] (no split, no transposes). Returns [B*T, H*hd]. */
export function causalAttentionQkv(qkv: tf.Tensor2D, b: number, t: number, h: number): tf.Tensor2D {
  return attention([qkv], fusedQkvLayout(b, h, t, qkv.shape[1] / (3 * h)));
}
