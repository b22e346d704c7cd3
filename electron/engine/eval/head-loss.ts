/**
 * The LM head and its cross-entropy, token chunk by token chunk: -log softmax(x · Wᵀ)[label]
 * per row without ever holding the logits of all rows. The forward pass and the gradient
 * each build the logits of `rows` tokens at a time ([rows, V]), so the head's memory is
 * bounded by rows x V instead of B x T x V (13 floats per vocabulary entry and token before).
 * The gradient is written out: for each chunk, recompute the logits, g = d · (softmax - onehot),
 * dx = g · W and dW += gᵀ · x.
 */
import * as tf from '@tensorflow/tfjs-core';
import { customOp, pickLabels } from '../models/layers.ts';

/** Floats per chunk of logits ([rows, V]): 4M (16 MB), 83 rows of GPT-2's vocabulary. */
export const HEAD_CHUNK_FLOATS = 2 ** 22;

/** The rows per chunk for a vocabulary of `vocab` (at least 1). */
export function headChunkRows(vocab: number): number {
  return Math.max(1, Math.floor(HEAD_CHUNK_FLOATS / vocab));
}

/** -log softmax(logits)[label] per row: logits [N, V], labels [N]. Returns [N]. */
function nllOf(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.neg(pickLabels(tf.logSoftmax(logits) as tf.Tensor2D, labels));
}

/** d · (softmax(logits) - onehot(labels)) for logits [n, V], labels [n], d [n]: the gradient of d · nll w.r.t. the logits. Returns [n, V]. */
function nllGradient(logits: tf.Tensor2D, labels: tf.Tensor1D, d: tf.Tensor1D): tf.Tensor2D {
  const [n, v] = logits.shape;
  const dCol = tf.reshape(d, [n, 1]); // [n, 1]
  const flatIdx = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(v, 'int32')), labels); // [n]: row * V + label
  const atLabels = tf.reshape(tf.scatterND(tf.reshape(flatIdx, [-1, 1]), d, [n * v]), [n, v]); // d at each row's label
  return tf.sub(tf.mul(tf.exp(tf.logSoftmax(logits)), dCol), atLabels) as tf.Tensor2D;
}

/** Row ranges [start, size] of `n` rows in chunks of `rows`. */
function chunksOf(n: number, rows: number): [number, number][] {
  const out: [number, number][] = [];
  for (let a = 0; a < n; a += rows) out.push([a, Math.min(rows, n - a)]);
  return out;
}

/**
 * Per-row cross-entropy of the head W [V, D] (torch layout, tied or not) on the final hidden
 * states x [N, D] against `labels` [N] (int32), `rows` tokens at a time. Returns [N];
 * differentiable in x and W (one tape node).
 */
export function chunkedHeadNll(x: tf.Tensor2D, w: tf.Tensor2D, labels: tf.Tensor1D, rows: number): tf.Tensor1D {
  const [n, d] = x.shape;
  const parts = chunksOf(n, rows);
  const f = customOp((xi: tf.Tensor, wi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi, wi, labels]);
    const value = tf.tidy(() => {
      const wT = tf.transpose(wi as tf.Tensor2D); // [D, V], once for all chunks
      const nll = parts.map(([a, m]) => tf.tidy(() => nllOf(tf.matMul(tf.slice(xi as tf.Tensor2D, [a, 0], [m, d]), wT), tf.slice(labels, [a], [m])))); // each [m]
      return nll.length === 1 ? nll[0]! : tf.concat(nll);
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw, sl] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const wT = tf.transpose(sw); // [D, V]
        const dxs: tf.Tensor2D[] = [];
        let dw: tf.Tensor2D | undefined; // [V, D]
        for (const [a, m] of parts) {
          const [dx, dwc] = tf.tidy(() => {
            const xc = tf.slice(sx, [a, 0], [m, d]); // [m, D]
            const g = nllGradient(tf.matMul(xc, wT), tf.slice(sl, [a], [m]), tf.slice(dy as tf.Tensor1D, [a], [m])); // [m, V]
            return [tf.matMul(g, sw), tf.matMul(tf.transpose(g), xc)]; // [m, D], [V, D]
          });
          dxs.push(dx);
          if (!dw) dw = dwc;
          else {
            const sum = tf.add(dw, dwc) as tf.Tensor2D;
            tf.dispose([dw, dwc]);
            dw = sum;
          }
        }
        return [dxs.length === 1 ? dxs[0]! : tf.concat(dxs), dw!];
      },
    };
  });
  return f(x, w) as tf.Tensor1D;
}
