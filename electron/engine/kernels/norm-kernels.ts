/**
 * LayerNorm and RMSNorm, forward and backward, as one wasm-backend kernel each (tfjs's plugin
 * API, under Scion's own kernel names; the rows run in norm-simd.ts's SIMD functions on the
 * backend's heap). The generic forms in models/layers.ts take 9 kernels forward and about 14
 * backward per norm, each a pass over memory with the engine's fixed cost; a GPT-2 or Llama
 * step at d 128, 4 layers has 9 norms. Rows of a width that is not a multiple of 4 take the
 * generic form (normKernelsFit).
 *
 * ScionNorm: x [N, D], gain [D], bias [D] (LayerNorm; absent: RMSNorm), attrs { eps }
 *   -> y [N, D], xhat [N, D] (x normalised), rstd [N] (1 / sqrt(var + eps); RMSNorm: 1 / rms).
 * ScionNormGrad: dy [N, D], xhat [N, D], rstd [N], gain [D], attrs { rms }
 *   -> dx [N, D], dgain [D] (and dbias [D] for LayerNorm).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { NORM_MODULE_BYTES, type NormSimd } from './norm-simd.ts';
import { floatBits } from './wasm-asm.ts';
import { instantiateOnHeap, type WasmMemory } from './simd-kernels.ts';

type KernelArgs = Parameters<(ReturnType<typeof tf.getKernel> & object)['kernelFunc']>[0];

export const NORM_KERNEL = 'ScionNorm';
export const NORM_GRAD_KERNEL = 'ScionNormGrad';

let simd: NormSimd | undefined;
let heap: WasmMemory | undefined;

/** The tensor's byte address in the heap. */
function offset(backend: BackendWasm, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.memoryOffset >>> 0;
}

function norm(args: KernelArgs): tf.TensorInfo[] {
  const { x, gain, bias } = args.inputs as { x: tf.TensorInfo; gain: tf.TensorInfo; bias?: tf.TensorInfo };
  const { eps } = args.attrs as { eps: number };
  const backend = args.backend as BackendWasm;
  const [n, d] = x.shape as [number, number];
  const y = backend.makeOutput([n, d], 'float32');
  const xhat = backend.makeOutput([n, d], 'float32');
  const rstd = backend.makeOutput([n], 'float32');
  const o = (t: tf.TensorInfo) => offset(backend, t);
  (bias ? simd!.lnFwd : simd!.rmsFwd)(o(x), o(gain), bias ? o(bias) : 0, o(y), o(xhat), o(rstd), n, d, floatBits(eps));
  return [y, xhat, rstd];
}

function normGrad(args: KernelArgs): tf.TensorInfo[] {
  const { dy, xhat, rstd, gain } = args.inputs as { dy: tf.TensorInfo; xhat: tf.TensorInfo; rstd: tf.TensorInfo; gain: tf.TensorInfo };
  const { rms } = args.attrs as { rms: boolean };
  const backend = args.backend as BackendWasm;
  const [n, d] = dy.shape as [number, number];
  const dx = backend.makeOutput([n, d], 'float32');
  const dgain = backend.makeOutput([d], 'float32');
  const dbias = rms ? undefined : backend.makeOutput([d], 'float32');
  const o = (t: tf.TensorInfo) => offset(backend, t);
  for (const t of dbias ? [dgain, dbias] : [dgain]) new Float32Array(heap!.buffer, o(t), d).fill(0); // summed over the rows
  (rms ? simd!.rmsBwd : simd!.lnBwd)(o(dy), o(xhat), o(rstd), o(gain), o(dx), o(dgain), dbias ? o(dbias) : 0, n, d);
  return dbias ? [dx, dgain, dbias] : [dx, dgain];
}

/** True when the norm kernels can take rows of width `d` on the active backend. */
export function normKernelsFit(d: number): boolean {
  return simd !== undefined && d % 4 === 0 && tf.getBackend() === 'wasm';
}

/** Registers the norm kernels on the wasm backend (which must be initialised). False where its heap or WebAssembly SIMD is missing. */
export function installNormKernels(): boolean {
  if (simd) return true;
  const backend = tf.findBackend('wasm') as BackendWasm | null;
  const memory = (backend?.wasm as unknown as { asm?: { memory?: WasmMemory } } | undefined)?.asm?.memory;
  if (!memory) return false;
  try {
    simd = instantiateOnHeap<NormSimd>(NORM_MODULE_BYTES, memory);
  } catch {
    return false; // no WebAssembly SIMD here
  }
  heap = memory;
  for (const [kernelName, kernelFunc] of [
    [NORM_KERNEL, norm],
    [NORM_GRAD_KERNEL, normGrad],
  ] as const)
    if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  return true;
}

/** Turns the norm kernels off (models/layers.ts takes the generic form again). */
export function uninstallNormKernels(): void {
  simd = undefined;
}

/** The norm kernel: [y, xhat, rstd] for x [N, D] (layers.ts wraps it with its gradient). */
export function runNorm(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D | undefined, eps: number): [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D] {
  const inputs: tf.NamedTensorMap = bias ? { x, gain, bias } : { x, gain };
  return tf.engine().runKernel(NORM_KERNEL, inputs, { eps }) as unknown as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
}

/** The gradient kernel: [dx, dgain] (RMSNorm) or [dx, dgain, dbias] (LayerNorm). */
export function runNormGrad(dy: tf.Tensor2D, xhat: tf.Tensor2D, rstd: tf.Tensor1D, gain: tf.Tensor1D, rms: boolean): tf.Tensor[] {
  return tf.engine().runKernel(NORM_GRAD_KERNEL, { dy, xhat, rstd, gain }, { rms }) as unknown as tf.Tensor[];
}
