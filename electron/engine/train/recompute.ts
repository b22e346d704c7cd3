/**
 * Gradients with per-block activation recomputation (gradient checkpointing, `--recompute`):
 * the forward pass runs block by block without recording anything and keeps only each
 * block's input [B*T, D]; the backward pass then takes the head and loss (chunked, see
 * eval/head-loss.ts), then each block from the last to the first: it runs the block again,
 * this time recorded, and back-propagates the incoming gradient through it alone (tf.grads
 * with dy), then the embedding. At any time the activations held are the L + 1 block inputs
 * and one block's recorded pass, for about one extra forward pass of compute.
 * The results equal plain back-propagation's up to the order of float additions (the
 * residual stream's and the tied head's gradients are summed in another order).
 */
import * as tf from '@tensorflow/tfjs-core';
import { stagesHeadLoss } from '../eval/loss.ts';
import type { ModelConfig } from '../models/config.ts';
import { decoderStages } from '../models/family.ts';
import type { Params } from '../models/params.ts';
import type { DecoderStages } from '../models/stages.ts';
import { ScionError } from '../errors.ts';

/** Adds `g` into `acc[name]` (disposing the old sum and `g`). */
function accumulate(acc: Record<string, tf.Tensor>, name: string, g: tf.Tensor | undefined): void {
  if (!g) throw new Error(`recompute: no gradient for parameter '${name}'`);
  const prev = acc[name];
  if (!prev) {
    acc[name] = g;
    return;
  }
  acc[name] = tf.add(prev, g);
  tf.dispose([prev, g]);
}

/** Every name of `wanted` in some stage, or an error naming the first that is not (its gradient would silently be missing). */
function checkCovered(st: DecoderStages, wanted: readonly string[]): void {
  const covered = new Set([...st.embedParams, ...st.finalParams, st.head]);
  for (let i = 0; i < st.layers; i++) for (const n of st.blockParams(i)) covered.add(n);
  const missing = wanted.find((n) => !covered.has(n));
  if (missing) throw new Error(`recompute: parameter '${missing}' belongs to no stage of the model`);
}

/**
 * The mean loss over `targets` [B, T] given `inputs` [B, T] and its gradients with respect to
 * the tensors `p[name]` for every name of `wrt` (each by name; the caller disposes them), the
 * activations recomputed block by block. `headRows`: the head's token chunk (head-loss.ts).
 */
export function recomputeGradients(
  cfg: ModelConfig,
  p: Params,
  wrt: readonly string[],
  inputs: tf.Tensor2D,
  targets: tf.Tensor2D,
  headRows?: number,
): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const st = decoderStages(cfg, p, inputs);
  if (!st) throw new ScionError(`--recompute is not implemented for the ${cfg.family} family`, 'E_USAGE');
  const wanted = new Set(wrt);
  const labels = tf.reshape(targets, [-1]) as tf.Tensor1D; // [B*T]
  const grads: Record<string, tf.Tensor> = {};
  const xs: tf.Tensor2D[] = []; // xs[i]: block i's input [B*T, D]; xs[L]: the last block's output
  let dx: tf.Tensor | undefined; // the loss's gradient w.r.t. the current stage's output [B*T, D]
  let value: tf.Scalar | undefined;
  /** The stage's wanted parameters among `names` and their tensors. */
  const own = (names: readonly string[]) => names.filter((n) => wanted.has(n));
  try {
    checkCovered(st, wrt);
    // forward, nothing recorded: the block inputs only
    xs.push(tf.tidy(() => st.embed()));
    for (let i = 0; i < st.layers; i++) xs.push(tf.tidy(() => st.block(i, xs[i]!)));
    // head and loss: the value, and gradients w.r.t. the last block's output and the final norm and head
    const xl = xs.pop()!;
    const headNames = own([...new Set([...st.finalParams, st.head])]);
    const head = tf.valueAndGrads((...at: tf.Tensor[]) => stagesHeadLoss(st, p, at[0] as tf.Tensor2D, labels, headRows))([xl, ...headNames.map((n) => p[n]!)]);
    xl.dispose();
    value = head.value as tf.Scalar;
    dx = head.grads[0];
    headNames.forEach((n, k) => accumulate(grads, n, head.grads[k + 1]));
    // blocks, last to first: recomputed with the tape on, dy = the gradient at the block's output
    for (let i = st.layers - 1; i >= 0; i--) {
      const x = xs.pop()!;
      const names = own(st.blockParams(i));
      const r = tf.grads((...at: tf.Tensor[]) => st.block(i, at[0] as tf.Tensor2D))([x, ...names.map((n) => p[n]!)], dx);
      x.dispose();
      dx.dispose();
      dx = r[0];
      names.forEach((n, k) => accumulate(grads, n, r[k + 1]));
    }
    const names = own(st.embedParams);
    if (names.length > 0) {
      const r = tf.grads(() => st.embed())(
        names.map((n) => p[n]!),
        dx,
      );
      names.forEach((n, k) => accumulate(grads, n, r[k]));
    }
    return { value, grads };
  } catch (e) {
    value?.dispose();
    tf.dispose(Object.values(grads));
    throw e;
  } finally {
    tf.dispose([...xs, labels, ...(dx ? [dx] : [])]);
    st.dispose();
  }
}
