/**
 * Optimizer state across growth. `carryMoments` maps a source run's AdamW moments onto the
 * grown model's parameters through the same operator that grew the weights: each grown
 * entry takes the moment of the source entry it was copied from, unscaled (the operator's
 * own weight scaling, e.g. HyperCloning's 1/n fan-in, is divided out by growing an all-ones
 * model alongside), new entries start at zero (as MSG does), and then
 *   HyperCloning (n-fold tiling): m / n and v / n^2, since every gradient of the n-fold
 *   clone is 1/n of the source's (Staged Training, Shen et al. 2022);
 *   other operators: copied as they are.
 *   Exceptions to 1/n, found by comparing with the grown model's own gradients (the test
 *   does this): the untied Llama head (`lm_head`, its output axis is the vocabulary, not
 *   a cloned hidden axis) and GPT-2's final LayerNorm (its gain and bias were divided by n
 *   for the tied head) get the source's gradient unscaled, so their moments are copied.
 * `estimateMoments` makes a source run's moments when only the trained weights exist: K
 * gradient evaluations at the source's weights (weights not moved), folded into AdamW's
 * exponential averages with the run's betas and clipping, bias-correction step t = K.
 */
import * as tf from '@tensorflow/tfjs-core';
import { growArrays, methodSpec, planGrowth, type GrowOptions } from '../growth/index.ts';
import { modelShape, type ModelConfig } from '../models/config.ts';
import { tensorSpecs } from '../models/family.ts';
import type { Params } from '../models/params.ts';
import { disposeBatch, sampleBatch } from './batches.ts';
import { clipByGlobalNorm } from './clip.ts';
import { ensureGradients } from './gradients.ts';
import { Rng } from '../rng.ts';
import { accumulatedGradients, type Variables } from './step.ts';

export type MomentArrays = Record<string, Float32Array>;

export interface Moments {
  m: MomentArrays;
  v: MomentArrays;
  t: number;
}

/** The n of HyperCloning-style n-fold tiling (1 for every other operator). */
export function momentScale(source: ModelConfig, target: ModelConfig, method: string): number {
  if (methodSpec(method).mapping !== 'tile') return 1;
  return modelShape(target).hidden / modelShape(source).hidden;
}

/** How much smaller tensor `name`'s gradient is after n-fold cloning than the source's. */
export function gradientDivisor(name: string, n: number): number {
  if (n === 1) return 1;
  if (name === 'lm_head.weight' || name === 'transformer.ln_f.weight' || name === 'transformer.ln_f.bias') return 1;
  return n;
}

async function collect(gen: AsyncGenerator<{ name: string; data: Float32Array }>): Promise<MomentArrays> {
  const out: MomentArrays = {};
  for await (const t of gen) out[t.name] = t.data;
  return out;
}

/** Maps source moments through the growth operator `opts` (see the file comment). */
export async function carryMoments(
  source: ModelConfig,
  moments: Moments,
  opts: GrowOptions,
): Promise<{ moments: Moments; target: ModelConfig; scale: number }> {
  const structural: GrowOptions = { ...opts, newEntries: 'zero' };
  delete structural.noiseDb;
  const ones: MomentArrays = {};
  for (const s of tensorSpecs(source)) ones[s.name] = new Float32Array(s.shape.reduce((a, b) => a * b, 1)).fill(1);
  const gain = await collect(growArrays(source, (n) => ones[n]!, structural));
  const gm = await collect(growArrays(source, (n) => moments.m[n]!, structural));
  const gv = await collect(growArrays(source, (n) => moments.v[n]!, structural));
  const names = Object.keys(gain);
  const target = planGrowth(source, opts);
  const n = momentScale(source, target, opts.method);
  for (const name of names) {
    const d = gradientDivisor(name, n);
    const g = gain[name]!;
    const m = gm[name]!;
    const v = gv[name]!;
    for (let i = 0; i < g.length; i++) {
      const k = g[i]!;
      if (k === 0) {
        m[i] = 0;
        v[i] = 0;
      } else {
        m[i] = m[i]! / k / d;
        v[i] = v[i]! / k / (d * d);
      }
    }
  }
  return { moments: { m: gm, v: gv, t: moments.t }, target, scale: n };
}

export interface EstimateOptions {
  steps: number;
  batch: number;
  ctx: number;
  beta1: number;
  beta2: number;
  clip: number;
  seed: number;
}

let estimates = 0;

/** AdamW moments of `params` from `o.steps` gradient evaluations (see the file comment). */
export async function estimateMoments(cfg: ModelConfig, params: Params, ids: Uint32Array, o: EstimateOptions): Promise<Moments> {
  await ensureGradients();
  const vars: Variables = {};
  const id = ++estimates;
  for (const [name, t] of Object.entries(params)) vars[name] = tf.variable(t, true, `estimate${id}/${name}`);
  const m: Record<string, tf.Tensor> = {};
  const v: Record<string, tf.Tensor> = {};
  for (const [name, p] of Object.entries(vars)) {
    m[name] = tf.zerosLike(p);
    v[name] = tf.zerosLike(p);
  }
  const rng = new Rng(o.seed);
  try {
    for (let k = 0; k < o.steps; k++) {
      const b = sampleBatch(rng, ids, o.ctx, o.batch);
      const { grads } = await accumulatedGradients(cfg, vars, [b]);
      disposeBatch(b);
      const clipped = await clipByGlobalNorm(grads, o.clip);
      for (const g of Object.values(grads)) g.dispose();
      for (const name of Object.keys(vars)) {
        const g = clipped.grads[name]!;
        const m1 = tf.tidy(() => tf.add(tf.mul(m[name]!, o.beta1), tf.mul(g, 1 - o.beta1)));
        const v1 = tf.tidy(() => tf.add(tf.mul(v[name]!, o.beta2), tf.mul(tf.square(g), 1 - o.beta2)));
        m[name]!.dispose();
        v[name]!.dispose();
        m[name] = m1;
        v[name] = v1;
        g.dispose();
      }
    }
    const out: Moments = { m: {}, v: {}, t: o.steps };
    for (const name of Object.keys(vars)) {
      out.m[name] = (await m[name]!.data()) as Float32Array;
      out.v[name] = (await v[name]!.data()) as Float32Array;
    }
    return out;
  } finally {
    for (const t of [...Object.values(m), ...Object.values(v), ...Object.values(vars)]) t.dispose();
  }
}
