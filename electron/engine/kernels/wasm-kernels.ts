/**
 * Faster kernels for the tfjs wasm backend, registered through tfjs's plugin API
 * (registerKernel) over the backend's own: batched matrix products (attention) and
 * transposes of the last two axes run in the SIMD module of simd-kernels.ts, on the
 * backend's heap, with no copies. Anything they do not cover (transpose flags, broadcast
 * batches, widths not a multiple of 4, other permutations, rank-2 products, which XNNPACK
 * already does well) goes to the original kernel. install/uninstall swap them in and out
 * (the bench times both); exactness: same float32 products, summed in the same k order.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { instantiateSimdKernels, type SimdKernels, type WasmMemory } from './simd-kernels.ts';

type KernelConfig = ReturnType<typeof tf.getKernel> & object;
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];

let originals: { matMul: KernelConfig; transpose: KernelConfig } | undefined;
let simd: SimdKernels | undefined;

function offset(backend: BackendWasm, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset;
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
  if (!simd || transposeA || transposeB || !sameBatch || a.dtype !== 'float32' || b.dtype !== 'float32' || n % 4 !== 0) return originals!.matMul.kernelFunc(args);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const g = size(a.shape.slice(0, -2));
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
  if (g * rows * cols > 0) simd.swap(offset(backend, x), offset(backend, out), g, rows, cols);
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
  if (!memory || !matMul || !tr) return false;
  try {
    simd = instantiateSimdKernels(memory);
  } catch {
    return false; // no WebAssembly SIMD here
  }
  originals = { matMul, transpose: tr };
  for (const [name, kernelFunc] of [['BatchMatMul', batchMatMul], ['Transpose', transpose]] as const) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
  }
  return true;
}

/** Puts the backend's own kernels back. */
export function uninstallWasmKernels(): void {
  if (!originals) return;
  for (const k of [originals.matMul, originals.transpose]) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({ ...k, setupFunc: undefined });
  }
  originals = undefined;
}
