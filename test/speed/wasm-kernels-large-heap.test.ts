/**
 * Every custom wasm kernel (kernels/wasm-kernels.ts) with its inputs and outputs placed above
 * 2 GB of heap, against the cpu backend. A model of ~25M parameters pushes the wasm heap past
 * 2 GB; byte offsets there do not fit a signed 32-bit number, and a signed shift (`>> 2`) made
 * split and gather read and write from the end of the heap (the NaN at 25M, and its
 * "memory access out of bounds" at 45M). The filler below is reserved with malloc and never
 * touched, so the test costs address space, not resident memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../electron/engine/backend.ts';
import { wasmKernelsInstalled } from '../../electron/engine/kernels/wasm-kernels.ts';
import { AdamW, DEFAULT_ADAMW } from '../../electron/engine/train/adamw.ts';
import { batchFromStarts, disposeBatch } from '../../electron/engine/train/batches.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { initParams } from '../../electron/engine/train/init.ts';
import { toVariables, trainStep } from '../../electron/engine/train/step.ts';
import { PRESETS, type ModelConfig } from '../../electron/engine/models/config.ts';

const onWasm = (process.env['SCION_BACKEND'] ?? 'wasm') === 'wasm';
const TWO_GB = 2 ** 31;

interface Case {
  name: string;
  inputs: { shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }[];
  op: (xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
  /** Largest difference from the cpu backend (default 1e-5): long sums differ by their order's rounding. */
  tol?: number;
}

function floats(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

function input(shape: number[], seed: number): Case['inputs'][number] {
  return {
    shape,
    dtype: 'float32',
    data: floats(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
  };
}

const idx = { shape: [5], dtype: 'int32' as const, data: Int32Array.from([3, 0, 3, 7, 1]) };

const CASES: Case[] = [
  { name: 'gemm (batched matMul, N % 16 == 0)', inputs: [input([2, 3, 5, 7], 1), input([2, 3, 7, 32], 2)], op: ([a, b]) => tf.matMul(a!, b!) },
  {
    name: 'gemm (rank 2, odd M, K past one block, N % 16 != 0)',
    inputs: [input([37, 300], 11), input([300, 50], 12)],
    op: ([a, b]) => tf.matMul(a!, b!),
    tol: 5e-5, // sums of 300 products of size ~6, in another order than the cpu backend's
  },
  { name: 'bmm4 (batched matMul, N % 4 == 0)', inputs: [input([4, 9, 3], 3), input([4, 3, 12], 4)], op: ([a, b]) => tf.matMul(a!, b!) },
  { name: 'swap (transpose of the last two axes)', inputs: [input([3, 37, 19], 5)], op: ([x]) => tf.transpose(x!, [0, 2, 1]) },
  { name: 'swap4 (4 x 4 register tiles)', inputs: [input([2, 64, 128], 6)], op: ([x]) => tf.transpose(x!, [0, 2, 1]) },
  { name: 'splitV (flat vector)', inputs: [input([1000], 7)], op: ([x]) => tf.split(x!, [1, 600, 0, 399]) },
  { name: 'splitV (inner axis)', inputs: [input([6, 12], 8)], op: ([x]) => tf.split(x!, [3, 4, 5], 1) },
  { name: 'slice (contiguous rows)', inputs: [input([40, 6], 13)], op: ([x]) => tf.slice(x!, [17, 0], [9, 6]) },
  { name: 'gatherV2 (rows)', inputs: [input([8, 5], 9), idx], op: ([x, i]) => tf.gather(x!, i!, 0) },
  { name: 'gatherV2 (single elements)', inputs: [input([3, 8], 10), idx], op: ([x, i]) => tf.gather(x!, i!, 1) },
];

async function run(c: Case): Promise<{ outs: (Float32Array | Int32Array)[]; tensors: tf.Tensor[]; inputs: tf.Tensor[] }> {
  const inputs = c.inputs.map((i) => tf.tensor(i.data, i.shape, i.dtype));
  const tensors = [c.op(inputs)].flat();
  const outs = (await Promise.all(tensors.map((t) => t.data()))) as (Float32Array | Int32Array)[];
  return { outs, tensors, inputs };
}

async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false; // no tfjs-node banner
}

/** The emscripten module's allocator (its typings leave it out). */
function heapOf(backend: BackendWasm): { _malloc: (bytes: number) => number; _free: (at: number) => void } {
  return backend.wasm as unknown as { _malloc: (bytes: number) => number; _free: (at: number) => void };
}

/** Reserves 2 GB + 1 MB of wasm heap (untouched) so that what is allocated next lies above 2 GB. */
function reserveTwoGb(backend: BackendWasm): number {
  const at = heapOf(backend)._malloc(TWO_GB + 2 ** 20) >>> 0;
  assert.notEqual(at, 0, 'the wasm heap can reserve 2 GB');
  return at;
}

test('every custom wasm kernel is exact with its buffers above 2 GB of heap (cpu backend as reference)', { skip: !onWasm && 'wasm only' }, async () => {
  await useCpu();
  const refs: (Float32Array | Int32Array)[][] = [];
  for (const c of CASES) {
    const r = await run(c);
    refs.push(r.outs);
    tf.dispose([...r.tensors, ...r.inputs]);
  }

  await initBackend('wasm');
  assert.ok(wasmKernelsInstalled(), 'the custom kernels are installed');
  const backend = tf.backend() as BackendWasm;
  const filler = reserveTwoGb(backend);
  try {
    for (const [k, c] of CASES.entries()) {
      const r = await run(c);
      for (const t of [...r.inputs, ...r.tensors]) {
        const at = backend.dataIdMap.get(t.dataId)!.memoryOffset >>> 0;
        if (t.size > 0) assert.ok(at >= TWO_GB, `${c.name}: a buffer sits at ${at}, below 2 GB: the test would prove nothing`);
      }
      assert.equal(r.outs.length, refs[k]!.length, c.name);
      r.outs.forEach((out, i) => {
        const ref = refs[k]![i]!;
        assert.deepEqual(
          r.tensors[i]!.shape.reduce((a, b) => a * b, 1),
          ref.length,
          `${c.name}: output ${i} size`,
        );
        let worst = 0;
        for (let j = 0; j < ref.length; j++) worst = Math.max(worst, Math.abs(out[j]! - ref[j]!));
        assert.ok(worst <= (c.tol ?? 1e-5), `${c.name}: output ${i} differs from the cpu backend by ${worst}`);
      });
      tf.dispose([...r.tensors, ...r.inputs]);
    }
  } finally {
    heapOf(backend)._free(filler);
  }
});

/** Losses, gradient norms and final parameters of three AdamW steps of `cfg` on fixed batches. */
async function threeSteps(cfg: ModelConfig): Promise<{ losses: number[]; norms: number[]; params: Record<string, Float32Array> }> {
  const vars = toVariables(initParams(cfg, 3));
  const opt = new AdamW(vars, DEFAULT_ADAMW);
  const ids = Uint32Array.from({ length: 200 }, (_, i) => (i * 37 + (i >> 3)) % cfg.vocabSize);
  const losses: number[] = [];
  const norms: number[] = [];
  for (let s = 0; s < 3; s++) {
    const b = batchFromStarts(ids, [s, 50 + s], 16);
    const r = await trainStep(cfg, vars, opt, [b], 1e-2, 1);
    disposeBatch(b);
    losses.push(r.loss);
    norms.push(r.gradNorm);
  }
  const params: Record<string, Float32Array> = {};
  for (const [n, v] of Object.entries(vars)) params[n] = (await v.data()) as Float32Array;
  opt.dispose();
  tf.dispose(Object.values(vars));
  return { losses, norms, params };
}

test('a training step with the heap past 2 GB equals the cpu backend (GPT-2 and Llama)', { skip: !onWasm && 'wasm only' }, async () => {
  await ensureGradients();
  const cfgs = [PRESETS['gpt2-tiny']!, PRESETS['llama-tiny']!];
  await useCpu();
  const refs = [];
  for (const cfg of cfgs) refs.push(await threeSteps(cfg));

  await initBackend('wasm');
  await tf.setBackend('wasm'); // initBackend keeps its first answer; the test above switched to cpu since
  const backend = tf.backend() as BackendWasm;
  const filler = reserveTwoGb(backend);
  try {
    for (const [k, cfg] of cfgs.entries()) {
      const got = await threeSteps(cfg);
      const ref = refs[k]!;
      ref.losses.forEach((l, i) => assert.ok(Math.abs(got.losses[i]! - l) <= 1e-4 * Math.abs(l), `${cfg.family} loss ${i}: ${got.losses[i]} vs cpu ${l}`));
      ref.norms.forEach((n, i) => assert.ok(Math.abs(got.norms[i]! - n) <= 1e-4 * Math.abs(n), `${cfg.family} norm ${i}: ${got.norms[i]} vs cpu ${n}`));
      // AdamW's first steps move each entry by about lr * sign(g), so entries with a gradient
      // near 0 may differ by up to 2 lr between backends: compare the parameters as a whole.
      let diff = 0;
      let norm = 0;
      for (const [name, want] of Object.entries(ref.params)) {
        const have = got.params[name]!;
        for (let j = 0; j < want.length; j++) {
          diff += (have[j]! - want[j]!) ** 2;
          norm += want[j]! ** 2;
        }
      }
      assert.ok(
        Math.sqrt(diff / norm) <= 1e-4,
        `${cfg.family}: parameters after 3 steps differ from the cpu backend's by ${Math.sqrt(diff / norm)} (relative L2)`,
      );
    }
  } finally {
    heapOf(backend)._free(filler);
  }
});
