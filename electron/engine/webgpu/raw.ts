/**
 * Scion's own compute pipelines recorded into tfjs's WebGPU command stream, for what tfjs's
 * programs cannot express: several writable bindings (AdamW's grouped update), `enable f16;`
 * and f16 storage (kernels-f16.ts), workgroup tiles. Binding 0 is a uniform buffer, bindings
 * 1.. the tensors in order (buffers of tfjs tensors: the WGSL decides how to read them).
 * Pipelines are made once per shader text; buffers are marked as in use by the command queue
 * (as tfjs does), the uniform buffer is released after the submit, and the backend's submit
 * batching applies. A timed tfjs program (tf.time / tf.profile) ends the pass, so a dispatch
 * here then opens an untimed one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { noteDispatch } from './counters.ts';

/** The backend's internals this uses (public in JavaScript, private in its typings). */
interface Pass {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
}
interface Device {
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: { layout: unknown; entries: { binding: number; resource: { buffer: unknown } }[] }): unknown;
  features: { has(name: string): boolean };
}
interface RawBackend {
  device: Device;
  queue: { writeBuffer(b: unknown, off: number, data: ArrayBuffer): void };
  commandEncoder: { beginComputePass(d: object): Pass };
  computePassEncoder: Pass | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  uniformPendingDisposal: unknown[];
  bufferManager: { acquireBuffer(size: number, usage: number): unknown };
  tensorMap: { get(id: object): { resource: unknown } };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(id: object): void;
}

const pipelines = new Map<string, { getBindGroupLayout(i: number): unknown }>();

function rawBackend(): RawBackend {
  return tf.backend() as unknown as RawBackend;
}

/** Whether the webgpu device was made with `feature` (adapter.ts asks for shader-f16 where the adapter has it). */
export function deviceHas(feature: string): boolean {
  return rawBackend().device.features.has(feature);
}

/**
 * Records one dispatch of `code` (entry point `main`) over `groups` workgroups, binding
 * `uniform` (a multiple of 16 bytes) at 0 and `tensors` at 1, 2, ... `name` is what the
 * dispatch counter calls it.
 */
export function dispatchRaw(code: string, tensors: tf.TensorInfo[], uniform: ArrayBuffer, groups: [number, number, number], name: string): void {
  const b = rawBackend();
  let pipe = pipelines.get(code);
  if (!pipe) {
    pipe = b.device.createComputePipeline({ layout: 'auto', compute: { module: b.device.createShaderModule({ code }), entryPoint: 'main' } });
    pipelines.set(code, pipe);
  }
  const ubuf = b.bufferManager.acquireBuffer(uniform.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  b.queue.writeBuffer(ubuf, 0, uniform);
  b.uniformPendingDisposal.push(ubuf);
  const buffer = (t: tf.TensorInfo) => {
    b.uploadToGPU(t.dataId);
    b.commandQueueOwnedIds.add(t.dataId);
    return { buffer: b.tensorMap.get(t.dataId).resource };
  };
  const group = b.device.createBindGroup({
    layout: pipe.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: ubuf } }, ...tensors.map((t, j) => ({ binding: j + 1, resource: buffer(t) }))],
  });
  b.ensureCommandEncoderReady();
  b.computePassEncoder ??= b.commandEncoder.beginComputePass({});
  b.computePassEncoder.setPipeline(pipe);
  b.computePassEncoder.setBindGroup(0, group);
  b.computePassEncoder.dispatchWorkgroups(...groups);
  noteDispatch(name);
  if (++b.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
}
