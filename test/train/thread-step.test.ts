/**
 * The pieces of a threaded step that run outside tfjs (train/parallel/slice-math.ts): the
 * AdamW update by slices equals AdamW.apply to the bit, the all-reduce equals tfjs's mul and
 * add; and the optimizer state lent to the pool survives what a training run does between
 * steps (a checkpoint reading the moments, an evaluation on the pool writing other weights
 * into its shared memory) without changing a single float of the following steps.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../electron/engine/backend.ts';
import { AdamW } from '../../electron/engine/train/adamw.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { initArrays } from '../../electron/engine/train/init.ts';
import { evaluateWith, startThreads, stepWith } from '../../electron/engine/train/parallel/start.ts';
import { adamwSlice, reduceSlice, slices, type DecaySegment } from '../../electron/engine/train/parallel/slice-math.ts';
import type { Variables } from '../../electron/engine/train/step.ts';
import { TINY } from './tiny.ts';

/** Seeded values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31 - 1);
}

/** A trainable variable holding `data` (the initial tensor disposed). */
function variable(data: Float32Array, shape: number[], name: string): tf.Variable {
  const t = tf.tensor(data, shape, 'float32');
  const v = tf.variable(t, true, name);
  t.dispose();
  return v;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('a threaded step outside tfjs', () => {
  before(async () => {
    await initBackend();
    await ensureGradients();
  });

  test('AdamW by slices (decay on the matrix, not on the bias; clipped; 3 updates) equals AdamW.apply to the bit', async () => {
    const shapes: Record<string, number[]> = { 'h.0.mlp.c_fc.weight': [24, 40], 'h.0.mlp.c_fc.bias': [40], 'ln_f.weight': [24] };
    const names = Object.keys(shapes);
    const sizes = names.map((n) => shapes[n]!.reduce((a, b) => a * b, 1));
    const total = sizes.reduce((a, b) => a + b, 0);
    const vars: Variables = {};
    names.forEach((n, i) => (vars[n] = variable(values(sizes[i]!, i + 1), shapes[n]!, `slice-test/${n}`)));
    const opts = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const opt = new AdamW(vars, opts);
    const params = new Float32Array(total);
    let at = 0;
    names.forEach((n, i) => {
      params.set(vars[n]!.dataSync() as Float32Array, at);
      at += sizes[i]!;
    });
    const m = new Float32Array(total);
    const v = new Float32Array(total);
    const segments: DecaySegment[] = [
      { start: 0, end: sizes[0]!, decays: true },
      { start: sizes[0]!, end: total, decays: false },
    ];
    for (let t = 1; t <= 3; t++) {
      const g = values(total, 100 + t);
      const grads: Record<string, tf.Tensor> = {};
      at = 0;
      names.forEach((n, i) => {
        grads[n] = tf.tensor(g.subarray(at, at + sizes[i]!), shapes[n]!);
        at += sizes[i]!;
      });
      const u = { ...opts, lr: 3e-3 * t, t, scale: t === 2 ? 0.37 : 1 };
      opt.apply(grads, u.lr, u.scale);
      tf.dispose(Object.values(grads));
      for (const [lo, hi] of slices(total, 3)) adamwSlice(u, { params, m, v, g }, segments, lo, hi);
    }
    at = 0;
    names.forEach((n, i) => {
      const end = at + sizes[i]!;
      assert.deepEqual(bits(params.subarray(at, end)), bits(vars[n]!.dataSync() as Float32Array), `${n}: the parameters`);
      assert.deepEqual(bits(m.subarray(at, end)), bits(opt.m[n]!.dataSync() as Float32Array), `${n}: the first moment`);
      assert.deepEqual(bits(v.subarray(at, end)), bits(opt.v[n]!.dataSync() as Float32Array), `${n}: the second moment`);
      at = end;
    });
    opt.dispose();
    tf.dispose(Object.values(vars));
  });

  test('the all-reduce by slices equals mul and add in tfjs; its sums of squares add up to the squared norm', () => {
    const n = 1000;
    const g = [values(n, 1), values(n, 2), values(n, 3)];
    const w = [3 / 8, 3 / 8, 2 / 8];
    const want = tf.tidy(() => tf.addN(g.map((x, k) => tf.mul(tf.tensor1d(x), w[k]!))).dataSync() as Float32Array);
    const out = new Float32Array(n);
    const parts = slices(n, 3).map(([lo, hi]) => reduceSlice(out, g, w, lo, hi));
    assert.deepEqual(bits(out), bits(want));
    const squares = Array.from(out).reduce((a, x) => a + x * x, 0);
    assert.ok(Math.abs(parts.reduce((a, b) => a + b, 0) - squares) <= 1e-12 * squares);
    const two = new Float32Array(g[0]!);
    reduceSlice(two, [two, g[1]!], [0.5, 0.5], 0, n); // in place into the first buffer, as rank 0's is
    assert.deepEqual(bits(two), bits(tf.tidy(() => tf.add(tf.mul(tf.tensor1d(g[0]!), 0.5), tf.mul(tf.tensor1d(g[1]!), 0.5)).dataSync() as Float32Array)));
  });

  describe('the state lent to the pool', () => {
    const ids = Uint32Array.from({ length: 4000 }, (_, i) => (i * 7919 + (i >> 3)) % 256);
    const starts = (k: number) => [Array.from({ length: 4 }, (_, b) => (k * 97 + b * 211) % 3000)];
    const n0 = { tensors: 0 };
    before(() => (n0.tensors = tf.memory().numTensors));
    after(() => assert.equal(tf.memory().numTensors, n0.tensors, 'no tensors left behind'));

    /** 6 steps on 2 threads; `between` runs after step 3. Returns the final parameters and moments. */
    async function run(
      tag: string,
      between?: (x: { vars: Variables; opt: AdamW; pool: NonNullable<Awaited<ReturnType<typeof startThreads>>['pool']> }) => Promise<void>,
    ) {
      const vars: Variables = {};
      for (const [name, { shape, data }] of initArrays(TINY, 5)) vars[name] = variable(data, shape, `lend-${tag}/${name}`);
      const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
      const started = await startThreads(2, TINY, vars, 4);
      assert.ok(started.pool);
      const losses: number[] = [];
      try {
        for (let k = 0; k < 6; k++) {
          const r = await stepWith(started.pool, { cfg: TINY, vars, optimizer: opt, starts: starts(k), ids, ctx: 16, lr: 1e-2, clip: 0.5 });
          losses.push(r.loss);
          if (k === 2 && between) await between({ vars, opt, pool: started.pool });
        }
      } finally {
        await started.pool.close();
      }
      const out = {
        losses,
        t: opt.t,
        params: Object.fromEntries(Object.entries(vars).map(([n, x]) => [n, bits(x.dataSync() as Float32Array)])),
        m: Object.fromEntries(Object.entries(opt.m).map(([n, x]) => [n, bits(x.dataSync() as Float32Array)])), // read after the pool closed: given back
      };
      opt.dispose();
      tf.dispose(Object.values(vars));
      return out;
    }

    test('a checkpoint read of the moments and an evaluation of other weights on the pool change no float of later steps', async () => {
      const plain = await run('plain');
      let read: Record<string, number[]> = {};
      const busy = await run('busy', async ({ vars, opt, pool }) => {
        read = Object.fromEntries(Object.entries(opt.m).map(([n, x]) => [n, bits(x.dataSync() as Float32Array)])); // the moments come back from the pool
        const other: Record<string, tf.Tensor> = {};
        for (const [n, x] of Object.entries(vars)) other[n] = tf.mul(x, 0.5); // writes other weights into the shared parameters
        await evaluateWith(pool, { config: TINY, params: other, rawConfig: {} }, ids, { ctx: 16, batch: 4 });
        tf.dispose(Object.values(other));
      });
      assert.equal(Object.keys(read).length, Object.keys(plain.m).length);
      assert.ok(
        Object.values(read).some((x) => x.some((b) => b !== 0)),
        'the moments read mid-run are not zeros',
      );
      assert.deepEqual(busy.losses, plain.losses);
      assert.equal(busy.t, 6);
      assert.deepEqual(busy.params, plain.params);
      assert.deepEqual(busy.m, plain.m);
    });
  });
});
