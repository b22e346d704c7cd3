/**
 * AdamW as it was before the speed work (commit d364fc3, electron/engine/train/adamw.ts):
 * about 12 kernels per parameter per step. The bench's "before" runs it, so the before/now
 * ratio includes the flat optimizer; test/speed checks that the flat one computes the same.
 */
import * as tf from '@tensorflow/tfjs-core';
import { decays, type AdamWOptions } from '../../electron/engine/train/adamw.ts';

let optimizers = 0;

export class BaselineAdamW {
  readonly m: Record<string, tf.Variable> = {};
  readonly v: Record<string, tf.Variable> = {};
  t = 0;

  constructor(
    readonly params: Record<string, tf.Variable>,
    readonly opts: AdamWOptions,
  ) {
    const id = ++optimizers;
    for (const [name, p] of Object.entries(params)) {
      this.m[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false, `baseline-adamw${id}/m/${name}`));
      this.v[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false, `baseline-adamw${id}/v/${name}`));
    }
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
