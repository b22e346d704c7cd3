/**
 * A minimal training step for timing: the mean next-token loss (eval/loss.ts), its gradient
 * through tf.variableGrads, and an Adam update. Kept here so the bench does not depend on
 * the training module; the arithmetic per step is the same as any Adam step.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../electron/engine/models/config.ts';
import { tensorSpecs } from '../electron/engine/models/family.ts';
import { meanLoss } from '../electron/engine/eval/loss.ts';
import type { Params } from '../electron/engine/models/params.ts';

/** A seeded generator (mulberry32), so every backend and PyTorch see the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** GPT-2-style init: weights N(0, 0.02) (Box-Muller), norm gains 1, biases 0. */
export function initParams(cfg: ModelConfig, seed = 0): Record<string, tf.Variable> {
  const r = rng(seed);
  const out: Record<string, tf.Variable> = {};
  for (const s of tensorSpecs(cfg)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const isNorm = /(ln_\d|ln_f|layernorm|norm)\.weight$/.test(s.name);
    if (isNorm) data.fill(1);
    else if (!s.name.endsWith('.bias')) {
      for (let i = 0; i < n; i++) data[i] = 0.02 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    }
    out[s.name] = tf.variable(tf.tensor(data, s.shape, 'float32'), true, s.name);
  }
  return out;
}

/** Random token windows [B, T+1] split into inputs and targets. */
export function randomBatch(vocab: number, batch: number, ctx: number, seed: number): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const r = rng(seed);
  const ids = new Int32Array(batch * (ctx + 1));
  for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(r() * vocab);
  const inp = new Int32Array(batch * ctx);
  const tgt = new Int32Array(batch * ctx);
  for (let b = 0; b < batch; b++) {
    inp.set(ids.subarray(b * (ctx + 1), b * (ctx + 1) + ctx), b * ctx);
    tgt.set(ids.subarray(b * (ctx + 1) + 1, (b + 1) * (ctx + 1)), b * ctx);
  }
  return { inputs: tf.tensor2d(inp, [batch, ctx], 'int32'), targets: tf.tensor2d(tgt, [batch, ctx], 'int32') };
}

/** Adam (no weight decay) on a set of variables, moments kept as variables. */
export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  constructor(
    private readonly lr: number,
    private readonly b1 = 0.9,
    private readonly b2 = 0.999,
    private readonly eps = 1e-8,
  ) {}

  apply(params: Record<string, tf.Variable>, grads: Record<string, tf.Tensor>): void {
    this.t++;
    const c1 = 1 - this.b1 ** this.t;
    const c2 = 1 - this.b2 ** this.t;
    tf.tidy(() => {
      for (const [name, g] of Object.entries(grads)) {
        const p = params[name]!;
        if (!this.m.has(name)) {
          this.m.set(name, tf.variable(tf.zerosLike(p), false));
          this.v.set(name, tf.variable(tf.zerosLike(p), false));
        }
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const m2 = tf.add(tf.mul(m, this.b1), tf.mul(g, 1 - this.b1));
        const v2 = tf.add(tf.mul(v, this.b2), tf.mul(tf.square(g), 1 - this.b2));
        m.assign(m2);
        v.assign(v2);
        p.assign(tf.sub(p, tf.mul(tf.div(m2, tf.add(tf.sqrt(tf.div(v2, c2)), this.eps)), this.lr / c1)));
      }
    });
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** One step: loss, gradients, Adam. Returns the loss tensor (a scalar the caller disposes). */
export function trainStep(cfg: ModelConfig, params: Record<string, tf.Variable>, opt: Adam, inputs: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  const { value, grads } = tf.variableGrads(() => meanLoss(cfg, params as Params, inputs, targets), Object.values(params));
  opt.apply(params, grads);
  tf.dispose(Object.values(grads));
  return value;
}
