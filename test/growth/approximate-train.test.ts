/**
 * Approximate and non-preserving operators: the loss change is reported, finite, and the grown
 * model is still far better than a random model of the target size. And a grown model trains:
 * a few Adam steps give a finite, falling loss, with no tensor leak.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { APPROX_LOSS_BOUND, type GrowOptions, type Verdict, checkFunctionPreservation } from '../../electron/engine/growth/index.ts';
import { meanLoss } from '../../electron/engine/eval/loss.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import type { Params } from '../../electron/engine/models/params.ts';
import { disposeAll, evalWindows, fixture, growInMemory, randomArrays, toParams, useWasm } from './helpers.ts';

before(async () => {
  await useWasm();
  await ensureGradients();
});

const CASES: Array<[string, GrowOptions, Verdict]> = [
  ['gpt2-shakespeare-d64-l2', { method: 'zero-pad', hidden: 128 }, 'approximate'],
  ['gpt2-shakespeare-d64-l2', { method: 'random-pad', hidden: 96 }, 'approximate'],
  ['gpt2-shakespeare-d64-l2', { method: 'net2net', hidden: 96, seed: 1 }, 'approximate'],
  ['gpt2-shakespeare-d64-l2', { method: 'aki', hidden: 128, seed: 1 }, 'not preserving'],
  ['gpt2-shakespeare-d64-l2', { method: 'stack', layers: 4 }, 'not preserving'],
  ['llama-shakespeare-h64-l2', { method: 'random-pad', hidden: 128, heads: 8 }, 'approximate'],
  ['llama-shakespeare-h64-l2', { method: 'net2net', hidden: 96, seed: 2 }, 'approximate'],
  ['llama-shakespeare-h64-l2', { method: 'aki', hidden: 96, ffn: 200, seed: 2 }, 'not preserving'],
  ['llama-shakespeare-h64-l2', { method: 'interpolate', layers: 4 }, 'not preserving'],
  ['llama-shakespeare-h64-l2', { method: 'hypercloning', widthMult: 2, layers: 4, depth: 'stack' }, 'not preserving'],
];

describe('approximate operators report a finite loss change below a random model of the target size', () => {
  for (const [model, opts, theory] of CASES) {
    test(`${model} ${JSON.stringify(opts)}`, async () => {
      const g = await growInMemory(fixture(model), opts);
      assert.equal(g.plan.theory.verdict, theory);
      const windows = await evalWindows(fixture(model), 4);
      const a = toParams(g.source.config, g.source.arrays);
      const b = toParams(g.target, g.grown);
      const rnd = toParams(g.target, randomArrays(g.target));
      try {
        const r = await checkFunctionPreservation({ config: g.source.config, params: a }, { config: g.target, params: b }, windows, theory);
        const random = await checkFunctionPreservation({ config: g.source.config, params: a }, { config: g.target, params: rnd }, windows, 'approximate');
        // on the verdict's scale: never exact, approximate only within the stated loss bound
        assert.equal(r.verdict, Math.abs(r.lossChange) <= APPROX_LOSS_BOUND ? 'approximate' : 'changes the function');
        // The theory's "not exact" is borne out by the numbers (not only by the
        // verdict): the function measurably changed ...
        assert.equal(r.withinExactTolerance, false, `an operator reported ${theory} kept the function exactly (max |dlogit| ${r.maxAbsLogitDiff})`);
        assert.ok(r.maxAbsLogitDiff > 1e-3, `max |dlogit| only ${r.maxAbsLogitDiff}`);
        // ... but stays finite and usable
        assert.ok(Number.isFinite(r.lossChange), `loss change ${r.lossChange}`);
        assert.ok(r.lossGrown < random.lossGrown, `grown loss ${r.lossGrown} is not below a random model's ${random.lossGrown}`);
        console.log(
          `# ${model} ${opts.method}: loss ${r.lossSource.toFixed(4)} -> ${r.lossGrown.toFixed(4)} (random model of the target size ${random.lossGrown.toFixed(4)})`,
        );
      } finally {
        disposeAll(a);
        disposeAll(b);
        disposeAll(rnd);
      }
    });
  }
});

/** A few Adam steps on the reference windows; returns the losses. */
async function train(config: Parameters<typeof meanLoss>[0], start: Params, ids: Int32Array, count: number, length: number, steps: number): Promise<number[]> {
  const vars: Record<string, tf.Variable> = {};
  for (const [k, t] of Object.entries(start)) vars[k] = tf.variable(t, true, `grow-test/${k}`);
  const inp = new Int32Array(count * (length - 1));
  const tgt = new Int32Array(count * (length - 1));
  for (let w = 0; w < count; w++) {
    for (let j = 0; j + 1 < length; j++) {
      inp[w * (length - 1) + j] = ids[w * length + j]!;
      tgt[w * (length - 1) + j] = ids[w * length + j + 1]!;
    }
  }
  const inputs = tf.tensor2d(inp, [count, length - 1], 'int32');
  const targets = tf.tensor2d(tgt, [count, length - 1], 'int32');
  const opt = tf.train.adam(1e-3);
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const { value, grads } = tf.variableGrads(() => meanLoss(config, vars, inputs, targets), Object.values(vars));
      losses.push((await value.data())[0]!);
      opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      value.dispose();
      tf.dispose(Object.values(grads));
    }
  } finally {
    opt.dispose();
    inputs.dispose();
    targets.dispose();
    tf.dispose(Object.values(vars));
  }
  return losses;
}

describe('a grown model trains', () => {
  for (const [model, opts] of [
    ['llama-shakespeare-h64-l2', { method: 'hypercloning', widthMult: 2, noiseDb: 20 }],
    ['gpt2-shakespeare-d64-l2', { method: 'zero-pad', hidden: 96, layers: 3, depth: 'identity' }],
  ] as const) {
    test(`${model} ${JSON.stringify(opts)}: Adam steps give a finite, falling loss, no tensor leak`, async () => {
      const before = tf.memory().numTensors;
      const g = await growInMemory(fixture(model), opts);
      const w = await evalWindows(fixture(model), 4);
      const p = toParams(g.target, g.grown);
      let losses: number[];
      try {
        losses = await train(g.target, p, w.ids, w.count, w.length, 6);
      } finally {
        disposeAll(p);
      }
      assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
      assert.ok(losses[losses.length - 1]! < losses[0]!, `loss did not fall: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
      assert.equal(tf.memory().numTensors, before, 'tensor leak');
    });
  }
});
