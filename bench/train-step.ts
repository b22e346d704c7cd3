/**
 * What the bench times: one training step (loss, gradients, AdamW update) of a seeded model
 * on a fixed batch. "engine" runs the product's forward code; "baseline" the forward code as
 * it was before the speed work (bench/baseline).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../electron/engine/models/config.ts';
import { AdamW, DEFAULT_ADAMW } from '../electron/engine/train/adamw.ts';
import type { Batch } from '../electron/engine/train/batches.ts';
import { initArrays } from '../electron/engine/train/init.ts';
import { trainStep, type Variables } from '../electron/engine/train/step.ts';
import { BaselineAdamW } from './baseline/adamw.ts';
import { baselineMeanLoss } from './baseline/loss.ts';

export type StepKind = 'engine' | 'baseline';

export interface StepRig {
  /** Runs one step; resolves to its loss (read back, so the step has finished). */
  step: () => Promise<number>;
  dispose: () => void;
}

/** Random token windows: inputs [B, T] and targets [B, T], from a seeded LCG. */
export function randomBatch(vocab: number, batch: number, ctx: number, seed: number): Batch {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % vocab;
  const ids = Int32Array.from({ length: batch * (ctx + 1) }, next);
  const inp = new Int32Array(batch * ctx);
  const tgt = new Int32Array(batch * ctx);
  for (let b = 0; b < batch; b++) {
    inp.set(ids.subarray(b * (ctx + 1), b * (ctx + 1) + ctx), b * ctx);
    tgt.set(ids.subarray(b * (ctx + 1) + 1, (b + 1) * (ctx + 1)), b * ctx);
  }
  return { inputs: tf.tensor2d(inp, [batch, ctx], 'int32'), targets: tf.tensor2d(tgt, [batch, ctx], 'int32') };
}

/**
 * A model (seeded init), an AdamW without weight decay or clipping, and one batch, on the
 * active backend. "engine" runs the product's step (train/step.ts: flat gradients, the flat
 * AdamW); "baseline" the code from before the speed work: tf.variableGrads of the old forward
 * code and the per-parameter AdamW (bench/baseline). The loss is read back with the async
 * data() (the webgpu backend cannot read synchronously in Node), outside any tidy.
 */
export function makeRig(
  kind: StepKind,
  cfg: ModelConfig,
  batchSize: number,
  ctx: number,
  lr: number,
  tag = `bench/${kind}`,
  lossScale?: number,
): StepRig & { vars: Variables } {
  const vars: Variables = {};
  for (const [name, { shape, data }] of initArrays(cfg, 0)) vars[name] = tf.variable(tf.tensor(data, shape, 'float32'), true, `${tag}/${name}`);
  const opts = { ...DEFAULT_ADAMW, weightDecay: 0 };
  const opt = kind === 'engine' ? new AdamW(vars, opts) : new BaselineAdamW(vars, opts);
  const batch = randomBatch(cfg.vocabSize, batchSize, ctx, 1);
  const varList = Object.values(vars);
  const step = async () => {
    if (opt instanceof AdamW) return (await trainStep(cfg, vars, opt, [batch], lr, 0, undefined, lossScale === undefined ? {} : { lossScale })).loss;
    const { value, grads } = tf.variableGrads(() => baselineMeanLoss(cfg, vars, batch.inputs, batch.targets), varList);
    const byParam: Record<string, tf.Tensor> = {}; // variableGrads keys by variable name
    for (const [name, v] of Object.entries(vars)) byParam[name] = grads[v.name]!;
    opt.apply(byParam, lr);
    tf.dispose(Object.values(grads));
    const loss = (await value.data())[0]!;
    value.dispose();
    return loss;
  };
  return {
    vars,
    step,
    dispose: () => {
      opt.dispose();
      tf.dispose([...varList, batch.inputs, batch.targets]);
    },
  };
}
