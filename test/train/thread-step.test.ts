/**
 * The pieces of a threaded step that run outside tfjs, in JavaScript (train/parallel/slice-math.ts)
 * and as WebAssembly SIMD on the pool's shared memory (slice-kernels.ts; tested with its arrays
 * above 2 GiB of that memory): the AdamW update by slices equals AdamW.apply to the bit, the
 * all-reduce equals tfjs's mul and add; and the optimizer state lent to the pool survives what a training run does between
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
import { slices, type DecaySegment } from '../../electron/engine/train/parallel/slice-math.ts';
import { JS_SLICE_MATH, sliceMath, type SliceMath } from '../../electron/engine/train/parallel/slice-kernels.ts';
import { allocateShared, sharedViews, type SharedBuffers } from '../../electron/engine/train/parallel/shared-memory.ts';
import type { WasmMemory } from '../../electron/engine/kernels/simd-kernels.ts';
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

/** Where a test's slice functions run: `arrays(n, k)` gives k zeroed Float32Arrays of n they can work on. */
interface Place {
  name: string;
  math: SliceMath;
  arrays: (n: number, k: number) => Float32Array[];
}

const HIGH = 2 ** 31 + 4096; // above 2 GiB: where a signed pointer or size would go wrong

/** A shared WebAssembly memory of 2 GiB + 2 MiB (untouched pages cost nothing) with the scratch and arrays above 2 GiB. */
function highPlace(): Place {
  const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } }).WebAssembly;
  const pages = HIGH / 65536 + 32;
  const memory = WA.Memory ? new WA.Memory({ initial: pages, maximum: pages, shared: true }) : undefined;
  assert.ok(memory, 'a shared WebAssembly memory');
  const buffer = memory.buffer as unknown as SharedArrayBuffer;
  let next = HIGH + 64;
  const buffers: SharedBuffers = {
    memory,
    entries: 0,
    scratch: HIGH,
    params: { buffer, byteOffset: 0 },
    m: { buffer, byteOffset: 0 },
    v: { buffer, byteOffset: 0 },
    grads: [],
  };
  const math = sliceMath(buffers, 0);
  return {
    name: 'WebAssembly SIMD, arrays above 2 GiB',
    math,
    arrays: (n, k) =>
      Array.from({ length: k }, () => {
        const a = new Float32Array(buffer, next, n);
        a.fill(0);
        next += Math.ceil((4 * n) / 64) * 64 + 4; // odd placements: not 16-byte aligned every time
        return a;
      }),
  };
}

const PLACES: { name: string; make: () => Place }[] = [
  { name: 'JavaScript', make: () => ({ name: 'JavaScript', math: JS_SLICE_MATH, arrays: (n, k) => Array.from({ length: k }, () => new Float32Array(n)) }) },
  { name: 'WebAssembly SIMD, arrays above 2 GiB', make: highPlace },
];

describe('a threaded step outside tfjs', () => {
  before(async () => {
    await initBackend();
    await ensureGradients();
  });

  for (const { name, make } of PLACES) {
    test(`AdamW by slices (decay on the matrix, not on the bias; clipped; 3 updates; odd sizes) equals AdamW.apply to the bit: ${name}`, async () => {
      const place = make();
      if (place.math === JS_SLICE_MATH) assert.equal(place.name, 'JavaScript');
      else assert.equal(place.math.simd, true, 'the SIMD functions run');
      const shapes: Record<string, number[]> = { 'h.0.mlp.c_fc.weight': [24, 41], 'h.0.mlp.c_fc.bias': [41], 'ln_f.weight': [23] };
      const names = Object.keys(shapes);
      const sizes = names.map((n) => shapes[n]!.reduce((a, b) => a * b, 1));
      const total = sizes.reduce((a, b) => a + b, 0);
      const vars: Variables = {};
      names.forEach((n, i) => (vars[n] = variable(values(sizes[i]!, i + 1), shapes[n]!, `slice-test/${n}`)));
      const opts = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
      const opt = new AdamW(vars, opts);
      const [params, m, v, g] = place.arrays(total, 4) as [Float32Array, Float32Array, Float32Array, Float32Array];
      let at = 0;
      names.forEach((n, i) => {
        params.set(vars[n]!.dataSync() as Float32Array, at);
        at += sizes[i]!;
      });
      const segments: DecaySegment[] = [
        { start: 0, end: sizes[0]!, decays: true },
        { start: sizes[0]!, end: total, decays: false },
      ];
      for (let t = 1; t <= 3; t++) {
        g.set(values(total, 100 + t));
        const grads: Record<string, tf.Tensor> = {};
        at = 0;
        names.forEach((n, i) => {
          grads[n] = tf.tensor(g.subarray(at, at + sizes[i]!), shapes[n]!);
          at += sizes[i]!;
        });
        const u = { ...opts, lr: 3e-3 * t, t, scale: t === 2 ? 0.37 : 1 };
        opt.apply(grads, u.lr, u.scale);
        tf.dispose(Object.values(grads));
        for (const [lo, hi] of slices(total, 3)) place.math.adamw(u, { params, m, v, g }, segments, lo, hi);
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

    test(`the all-reduce by slices equals mul and add in tfjs; its sums of squares add up to the squared norm: ${name}`, () => {
      const place = make();
      const n = 1003;
      const g = place.arrays(n, 4);
      g.slice(0, 3).forEach((x, k) => x.set(values(n, k + 1)));
      const w = [3 / 8, 3 / 8, 2 / 8];
      const three = g.slice(0, 3);
      const want = tf.tidy(() => tf.addN(three.map((x, k) => tf.mul(tf.tensor1d(x), w[k]!))).dataSync() as Float32Array);
      const out = g[3]!;
      const parts = slices(n, 3).map(([lo, hi]) => place.math.reduce(out, three, w, lo, hi));
      assert.deepEqual(bits(out), bits(want));
      const squares = Array.from(out).reduce((a, x) => a + x * x, 0);
      assert.ok(Math.abs(parts.reduce((a, b) => a + b, 0) - squares) <= 1e-12 * squares);
      const wantTwo = bits(tf.tidy(() => tf.add(tf.mul(tf.tensor1d(g[0]!), 0.5), tf.mul(tf.tensor1d(g[1]!), 0.5)).dataSync() as Float32Array));
      const two = g[0]!;
      place.math.reduce(two, [two, g[1]!], [0.5, 0.5], 0, n); // in place into the first buffer, as rank 0's is
      assert.deepEqual(bits(two), wantTwo);
    });
  }

  test('the pool keeps everything in one shared WebAssembly memory where it fits, else in plain shared buffers', () => {
    const one = allocateShared(1001, 3);
    assert.ok(one.memory, 'one WebAssembly memory');
    assert.equal(sliceMath(one, 2).simd, true);
    const views = sharedViews(one);
    const all = [views.params, views.m, views.v, ...views.grads];
    assert.equal(all.length, 6);
    for (const x of all) assert.equal(x.length, 1001);
    const spans = all.map((x) => [x.byteOffset, x.byteOffset + x.byteLength]).sort((a, b) => a[0]! - b[0]!);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0]! >= spans[i - 1]![1]!, 'the arrays do not overlap');
    assert.ok(spans[0]![0]! >= one.scratch + 64 * 3, 'nor the scratch');
    const plain = allocateShared(1001, 3, { wasm: false });
    assert.equal(plain.memory, undefined);
    assert.equal(sliceMath(plain, 0), JS_SLICE_MATH);
    assert.equal(sharedViews(plain).grads.length, 3);
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
