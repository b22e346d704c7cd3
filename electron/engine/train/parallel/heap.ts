/**
 * Copies between float32 tensors and shared memory without an intermediate array per call:
 * on the wasm backend straight out of the backend's heap (where the tensor lives), elsewhere
 * through dataSync. Writing into a tensor needs nothing special: tf.tensor copies the values
 * into the heap once.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** `t`'s values (float32, already computed) into `into` from index `at`. */
export function copyOut(t: tf.Tensor, into: Float32Array, at: number): void {
  const backend = tf.backend() as Partial<BackendWasm>;
  const heap = (backend.wasm as unknown as { HEAPU8?: Uint8Array } | undefined)?.HEAPU8;
  const info = heap && t.dtype === 'float32' ? backend.dataIdMap?.get(t.dataId) : undefined;
  if (heap && info) {
    into.set(new Float32Array(heap.buffer, info.memoryOffset >>> 0, t.size), at);
    return;
  }
  into.set(t.dataSync() as Float32Array, at);
}

/** Tensors by name (`layout` order and sizes) written back to back into `into`. */
export function copyAllOut(layout: readonly { name: string; size: number }[], tensors: Record<string, tf.Tensor>, into: Float32Array, what: string): void {
  let at = 0;
  for (const { name, size } of layout) {
    const t = tensors[name];
    if (!t) throw new Error(`thread pool: no ${what} for parameter '${name}'`);
    if (t.size !== size) throw new Error(`thread pool: ${what} '${name}' has ${t.size} entries, the pool's layout ${size}`);
    copyOut(t, into, at);
    at += size;
  }
}

/** `src` (the flat layout) cut into tensors by name, in the layout's shapes; the caller disposes them. */
export function tensorsOf(layout: readonly { name: string; shape: number[]; size: number }[], src: Float32Array): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  let at = 0;
  for (const { name, shape, size } of layout) {
    out[name] = tf.tensor(src.subarray(at, at + size), shape, 'float32');
    at += size;
  }
  return out;
}

/** Each variable assigned its values from `src` (the flat layout). */
export function assignAll(layout: readonly { name: string; shape: number[]; size: number }[], src: Float32Array, vars: Record<string, tf.Variable>): void {
  let at = 0;
  for (const { name, shape, size } of layout) {
    const value = tf.tensor(src.subarray(at, at + size), shape, 'float32');
    vars[name]!.assign(value);
    value.dispose();
    at += size;
  }
}
