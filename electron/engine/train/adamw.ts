/**
 * AdamW (Loshchilov & Hutter 2019) over tf.Variables, written out so the moments are plain
 * named tensors a checkpoint can save and a growth operator can map:
 *   p <- p - lr * wd * p                      (decoupled decay, only where `decays(name)`)
 *   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * Weight decay applies to matrices only: never to norm gains, biases or embeddings.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

/** Whether decoupled weight decay applies to parameter `name` of shape `shape`. */
export function decays(name: string, shape: readonly number[]): boolean {
  if (shape.length < 2) return false; // norm gains and biases
  return !/(wte|wpe|embed_tokens)\.weight$/.test(name); // embeddings
}

let optimizers = 0;

export class AdamW {
  /** First and second moments by parameter name. */
  readonly m: Record<string, tf.Variable> = {};
  readonly v: Record<string, tf.Variable> = {};
  /** Updates applied so far (t of the bias correction). */
  t = 0;

  constructor(
    readonly params: Record<string, tf.Variable>,
    readonly opts: AdamWOptions,
  ) {
    const id = ++optimizers; // variable names are global to the engine
    for (const [name, p] of Object.entries(params)) {
      this.m[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false, `adamw${id}/m/${name}`));
      this.v[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false, `adamw${id}/v/${name}`));
    }
  }

  /** Replaces the moments (and step count) with saved or carried-over values. Takes ownership of nothing: values are copied. */
  setState(m: Record<string, tf.Tensor>, v: Record<string, tf.Tensor>, t: number): void {
    for (const name of Object.keys(this.params)) {
      const mm = m[name];
      const vv = v[name];
      if (!mm || !vv) throw new Error(`optimizer state has no moments for '${name}'`);
      this.m[name]!.assign(mm);
      this.v[name]!.assign(vv);
    }
    this.t = t;
  }

  /** Applies one update with learning rate `lr` from gradients `grads` (not disposed). */
  apply(grads: Record<string, tf.Tensor>, lr: number): void {
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.opts;
    const bc1 = 1 - Math.pow(b1, this.t);
    const bc2 = 1 - Math.pow(b2, this.t);
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const g = grads[name];
        if (!g) throw new Error(`AdamW: no gradient for parameter '${name}'`);
        const m = this.m[name]!;
        const v = this.v[name]!;
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        m.assign(m1);
        v.assign(v1);
        const step = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), eps));
        const decayed = weightDecay > 0 && decays(name, p.shape) ? tf.mul(p, 1 - lr * weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(step, lr)));
      }
    });
  }

  dispose(): void {
    for (const t of [...Object.values(this.m), ...Object.values(this.v)]) t.dispose();
  }
}
