/**
 * The matrix products in mixed precision (`--precision f16`; kernels-f16.ts): while the
 * precision is f16, y = x·W (+ b) and x·Wᵀ take a packed f16 copy of the activation x and of
 * the weight W (made at each forward from the float32 master weight, which AdamW updates),
 * multiply in f16 and sum in float32; the tape keeps the two f16 copies (half the memory of
 * float32), and the backward pass casts the incoming gradient to f16 for dx and dW, which
 * come out float32. The incoming gradient is the loss scaler's scaled one (train/loss-scale.ts):
 * its f16 copy overflows to inf rather than losing its small entries. Off by default.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { customOp, run } from './tape.ts';

export type Precision = 'fp32' | 'f16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'f16'];

let precision: Precision = 'fp32';

/** The precision of the matrix products now. */
export function matmulPrecision(): Precision {
  return precision;
}

/** Sets it (the training loop, around its steps; the caller checked the device, precision.ts). */
export function setMatmulPrecision(p: Precision): void {
  precision = p;
}

/** The packed f16 copy [ceil(n/2)] of x. */
const half = (x: tf.Tensor) => run('ScionToF16', { x });

/** op(a) · op(b) (+ bias) of packed f16 operands, a stored as [ar, ac] and b as [br, bc]. Returns float32 [M, N]. */
function product(a: tf.Tensor, [ar, ac]: number[], transA: boolean, b: tf.Tensor, [br, bc]: number[], transB: boolean, bias?: tf.Tensor): tf.Tensor2D {
  const [m, k] = transA ? [ac!, ar!] : [ar!, ac!];
  const n = transB ? br! : bc!;
  return run('ScionMatMulF16', bias ? { a, b, bias } : { a, b }, { m, n, k, transA, transB }) as tf.Tensor2D;
}

/** y = x · W (W [in, out]) or x · Wᵀ (W [out, in], `transposed`), plus `bias` [out] when given. Returns [N, out]. */
function linear(x: tf.Tensor2D, w: tf.Tensor2D, transposed: boolean, bias?: tf.Tensor1D): tf.Tensor2D {
  const [xs, ws] = [x.shape, w.shape];
  const f = customOp((...args: [...tf.Tensor[], tf.GradSaveFunc]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, wi, bi] = args.slice(0, -1) as tf.Tensor[];
    const [x16, w16] = [half(xi!), half(wi!)];
    save([x16, w16]);
    return {
      value: product(x16, xs, false, w16, ws, transposed, bi),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor, tf.Tensor];
        const dy16 = half(dy);
        const ds = dy.shape; // [N, out]
        // dx = dy · Wᵀ (or dy · W); dW = xᵀ · dy (or dyᵀ · x)
        const dx = product(dy16, ds, false, sw, ws, !transposed);
        const dw = transposed ? product(dy16, ds, true, sx, xs, false) : product(sx, xs, true, dy16, ds, false);
        dy16.dispose();
        return bias ? [dx, dw, run('ScionColSum', { x: dy })] : [dx, dw];
      },
    };
  });
  return (bias ? f(x, w, bias) : f(x, w)) as tf.Tensor2D;
}

export const matmulF16 = (x: tf.Tensor2D, w: tf.Tensor2D, transposed: boolean): tf.Tensor2D => linear(x, w, transposed);
export const affineF16 = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D => linear(x, w, false, b);
