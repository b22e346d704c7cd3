/**
 * Faster kernels for the tfjs wasm backend, registered through tfjs's plugin API
 * (registerKernel) over the backend's own: matrix products (batched with the same batch, or by
 * a rank-2 B) in gemm-simd.ts's tiled kernel, and transposes of the last two axes in the SIMD
 * module of simd-kernels.ts (whose bmm16/bmm4 products serve only with SCION_GEMM=0), all on the
 * backend's heap with no copies; splits, contiguous slices and gathers are block copies within
 * the heap. Anything they do not cover (transpose flags, other broadcast batches, other
 * permutations) goes to the original kernel. install/uninstall swap them in and out (the bench
 * times both). Exactness: the same float32 products summed in k order; with relaxed SIMD
 * (relaxed-simd.ts) each multiply-add rounds once instead of twice (FMA).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { gemmModuleBytes, PANEL_BYTES, type GemmSimd } from './gemm-simd.ts';
import { relaxedSimd } from './relaxed-simd.ts';
import { instantiateOnHeap, instantiateSimdKernels, type SimdKernels, type WasmMemory } from './simd-kernels.ts';

type KernelConfig = ReturnType<typeof tf.getKernel> & object;
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];

let originals: { matMul: KernelConfig; transpose: KernelConfig; splitV: KernelConfig; gather: KernelConfig; slice: KernelConfig } | undefined;
let simd: SimdKernels | undefined;
let heap: WasmMemory | undefined;
/** The tiled matrix product, whether it multiply-adds with one rounding (FMA), and its scratch in the heap (one packed panel). */
let gemm: { kernels: GemmSimd; fma: boolean; panel: number } | undefined;

/** Off with SCION_GEMM=0 (the bench's before: XNNPACK at rank 2, bmm16 batched); SCION_FMA=0 keeps two roundings. */
function gemmWanted(): { on: boolean; fma: boolean } {
  return { on: process.env['SCION_GEMM'] !== '0', fma: process.env['SCION_FMA'] !== '0' };
}

/** Which matrix product runs rank-2 and same-batch products: for the bench and the tests. */
export function wasmMatmulKind(): 'gemm-fma' | 'gemm' | 'xnnpack' {
  return gemm ? (gemm.fma ? 'gemm-fma' : 'gemm') : 'xnnpack';
}

/** The emscripten module's allocator (tfjs's typings leave it out). */
function allocator(backend: BackendWasm): { _malloc: (bytes: number) => number; _free: (at: number) => void } {
  return backend.wasm as unknown as { _malloc: (bytes: number) => number; _free: (at: number) => void };
}

/** The tensor's byte address in the heap: an unsigned 32-bit number (up to 4 GB). */
function offset(backend: BackendWasm, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset >>> 0;
}

/**
 * The tensor's index in 4-byte words. `>>> 2`, never `>> 2`: above 2 GB of heap a signed
 * shift makes the index negative, and typed arrays then count from the end of the heap.
 */
function wordIndex(backend: BackendWasm, t: tf.TensorInfo): number {
  return offset(backend, t) >>> 2;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function batchMatMul(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const backend = args.backend as BackendWasm;
  const ra = a.shape.length;
  const n = b.shape[b.shape.length - 1]!;
  const sameBatch = ra >= 3 && ra === b.shape.length && a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
  const fits = !transposeA && !transposeB && a.dtype === 'float32' && b.dtype === 'float32';
  const [m, k] = a.shape.slice(-2) as [number, number];
  const g = size(a.shape.slice(0, -2));
  if (fits && gemm && (sameBatch || b.shape.length === 2)) {
    // a rank-2 B multiplies A's rows whatever A's leading axes: one product of [size(A) / K, K] x [K, N]
    const [groups, rows] = sameBatch ? [g, m] : [1, g * m];
    const out = backend.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
    if (groups * rows * n > 0) gemm.kernels.gemm(offset(backend, a), offset(backend, b), offset(backend, out), groups, rows, k, n, gemm.panel);
    return out;
  }
  if (!fits || !simd || !sameBatch || n % 4 !== 0) return originals!.matMul.kernelFunc(args);
  const out = backend.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
  if (g * m * n > 0) (n % 16 === 0 ? simd.bmm16 : simd.bmm4)(offset(backend, a), offset(backend, b), offset(backend, out), g, m, k, n);
  return out;
}

function transpose(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { perm } = args.attrs as { perm: number[] };
  const backend = args.backend as BackendWasm;
  const r = perm.length;
  const swapsLastTwo = r >= 2 && perm[r - 2] === r - 1 && perm[r - 1] === r - 2 && perm.slice(0, -2).every((p, i) => p === i);
  if (!simd || !swapsLastTwo || x.dtype !== 'float32') return originals!.transpose.kernelFunc(args);
  const rows = x.shape[r - 2]!;
  const cols = x.shape[r - 1]!;
  const out = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], 'float32');
  const g = size(x.shape.slice(0, -2));
  if (g * rows * cols > 0) (rows % 4 === 0 && cols % 4 === 0 ? simd.swap4 : simd.swap)(offset(backend, x), offset(backend, out), g, rows, cols);
  return out;
}

/**
 * Split along any axis as block copies inside the heap (memmove). The backend's own SplitV
 * slices each output through `readSync`, which copies the whole input once per output: a
 * 50-way split of an optimizer's flat parameter vector moved 160 MB. Bit-exact (a copy).
 */
function splitV(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  const backend = args.backend as BackendWasm;
  if (!heap || (x.dtype !== 'float32' && x.dtype !== 'int32')) return originals!.splitV.kernelFunc(args);
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
  const outer = size(x.shape.slice(0, ax)); // rows of the [outer, axis * inner] view
  const inner = size(x.shape.slice(ax + 1));
  const row = x.shape[ax]! * inner;
  const outs = sizes.map((s) =>
    backend.makeOutput(
      x.shape.map((d, i) => (i === ax ? s : d)),
      x.dtype,
    ),
  );
  const view = new Float32Array(heap.buffer); // after the outputs' allocations (the heap may have grown); copyWithin moves bytes, so int32 too
  const src = wordIndex(backend, x);
  let col = 0;
  outs.forEach((out, i) => {
    const len = sizes[i]! * inner;
    const dst = wordIndex(backend, out);
    if (len > 0) for (let o = 0; o < outer; o++) view.copyWithin(dst + o * len, src + o * row + col, src + o * row + col + len);
    col += len;
  });
  return outs;
}

/**
 * Slice of a contiguous range (rows of the first axis, say) as one copy inside the heap. The
 * backend's own Slice first copies the whole input out of the heap (readSync), then the range
 * into the output: AdamW's pieces of at most 2^20 entries of GPT-2's 38.6M-entry embedding and
 * its moments copied 23 GB per step, 18.6 s of a 124M model's ~20 s step. Bit-exact (a copy).
 */
function slice(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { begin, size: sizes } = args.attrs as { begin: number | number[]; size: number | number[] };
  const backend = args.backend as BackendWasm;
  if (!heap || (x.dtype !== 'float32' && x.dtype !== 'int32')) return originals!.slice.kernelFunc(args);
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, sizes);
  if (!tf.slice_util.isSliceContinous(x.shape, b, s)) return originals!.slice.kernelFunc(args);
  const out = backend.makeOutput(s, x.dtype);
  const n = size(s);
  if (n > 0) {
    const from = wordIndex(backend, x) + tf.slice_util.computeFlatOffset(b, tf.util.computeStrides(x.shape));
    new Int32Array(heap.buffer).copyWithin(wordIndex(backend, out), from, from + n); // after the output's allocation (the heap may have grown)
  }
  return out;
}

/**
 * Gather (batchDims 0) as row copies inside the heap: out[o, i, :] = x[o, indices[i], :].
 * The backend's own runs a generic strided loop per element (about 1 ms for an embedding
 * lookup of 512 rows of 128). Bit-exact (a copy; the elements move as int32 bit patterns).
 */
function gatherV2(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
  const backend = args.backend as BackendWasm;
  if (!heap || batchDims !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') return originals!.gather.kernelFunc(args);
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const dim = x.shape[ax]!;
  const outer = size(x.shape.slice(0, ax));
  const inner = size(x.shape.slice(ax + 1));
  const n = size(indices.shape);
  const out = backend.makeOutput([...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], x.dtype);
  const words = new Int32Array(heap.buffer); // after the output's allocation (the heap may have grown)
  const xo = wordIndex(backend, x);
  const io = wordIndex(backend, indices);
  const oo = wordIndex(backend, out);
  for (let i = 0; i < n; i++) {
    const k = words[io + i]!;
    if (!(k >= 0 && k < dim)) throw new Error(`GatherV2: the index value ${k} is not in [0, ${dim - 1}]`);
  }
  for (let o = 0; o < outer; o++) {
    const src = xo + o * dim * inner;
    const dst = oo + o * n * inner;
    if (inner === 1) for (let i = 0; i < n; i++) words[dst + i] = words[src + words[io + i]!]!;
    else for (let i = 0; i < n; i++) words.copyWithin(dst + i * inner, src + words[io + i]! * inner, src + (words[io + i]! + 1) * inner);
  }
  return out;
}

/** True when the faster wasm kernels are registered. */
export function wasmKernelsInstalled(): boolean {
  return originals !== undefined;
}

/**
 * Registers the faster kernels over the wasm backend's (which must be initialised).
 * Returns false, changing nothing, where WebAssembly SIMD is unavailable.
 */
export function installWasmKernels(): boolean {
  if (originals) return true;
  const backend = tf.findBackend('wasm') as BackendWasm | null;
  const memory = (backend?.wasm as unknown as { asm?: { memory?: WasmMemory } } | undefined)?.asm?.memory;
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  const tr = tf.getKernel('Transpose', 'wasm');
  const sv = tf.getKernel('SplitV', 'wasm');
  const gather = tf.getKernel('GatherV2', 'wasm');
  const sl = tf.getKernel('Slice', 'wasm');
  if (!memory || !matMul || !tr || !sv || !gather || !sl) return false;
  try {
    simd = instantiateSimdKernels(memory);
  } catch {
    return false; // no WebAssembly SIMD here
  }
  originals = { matMul, transpose: tr, splitV: sv, gather, slice: sl };
  heap = memory;
  gemm = undefined;
  const want = gemmWanted();
  if (want.on)
    for (const fma of want.fma && relaxedSimd() ? [true, false] : [false]) {
      try {
        const kernels = instantiateOnHeap<GemmSimd>(gemmModuleBytes(fma), memory);
        gemm = { kernels, fma, panel: allocator(backend!)._malloc(PANEL_BYTES) >>> 0 }; // kept until uninstall
        break;
      } catch {
        // the next build (or none: XNNPACK and bmm16 as before)
      }
    }
  for (const [name, kernelFunc] of [
    ['BatchMatMul', batchMatMul],
    ['Transpose', transpose],
    ['SplitV', splitV],
    ['GatherV2', gatherV2],
    ['Slice', slice],
  ] as const) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
  }
  return true;
}

/** Puts the backend's own kernels back. */
export function uninstallWasmKernels(): void {
  if (!originals) return;
  for (const k of [originals.matMul, originals.transpose, originals.splitV, originals.gather, originals.slice]) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({ ...k, setupFunc: undefined });
  }
  originals = undefined;
  const backend = tf.findBackend('wasm') as BackendWasm | null;
  if (gemm && backend) allocator(backend)._free(gemm.panel);
  gemm = undefined;
}
