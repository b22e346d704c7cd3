/**
 * AdamW in place with several parameters per dispatch: tfjs's programs have one writable
 * binding, so this records its own compute pipeline into the backend's open compute pass,
 * binding the flat gradient, the flat moments and up to GROUP parameters read-write (the
 * default WebGPU limit is 8 storage buffers per shader). Each thread updates one flat entry:
 * its moments, then the parameter entry it belongs to (the parameters' offsets are constants
 * of the shader, made once per group). Same float32 arithmetic, in the same order, as
 * AdamW.applyFlat. Buffers are marked as in use by the command queue (as tfjs does), the
 * uniform buffer is released after the submit, and the backend's submit batching applies.
 */
import * as tf from '@tensorflow/tfjs-core';
import { noteDispatch } from './counters.ts';

export const GROUP = 5;

/** The backend's internals this uses (public in JavaScript, private in its typings). */
interface Pass {
  setPipeline(p: unknown): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number): void;
}
interface Device {
  createShaderModule(d: { code: string }): unknown;
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: { layout: unknown; entries: { binding: number; resource: { buffer: unknown } }[] }): unknown;
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

/** The buffers of one update: parameters in flat order, their sizes and decay flags, the flat moments and gradient [P]. */
export interface FlatBuffers {
  params: tf.Variable[];
  sizes: number[];
  decays: boolean[];
  m: tf.Variable;
  v: tf.Variable;
  g: tf.Tensor1D;
}

export interface GroupedStep extends FlatBuffers {
  /** lr, beta1, 1 - beta1, beta2, 1 - beta2, bc1, bc2, eps, 1 - lr wd */
  scalars: number[];
}

const pipelines = new Map<string, { getBindGroupLayout(i: number): unknown }>();

function shader(offsets: number[], sizes: number[], decays: boolean[]): string {
  const decl = offsets.map((_, j) => `@group(0) @binding(${4 + j}) var<storage, read_write> P${j}: array<f32>;`).join('\n');
  const updates = offsets
    .map((o, j) => `${j ? ' else ' : ''}if (k < ${o + sizes[j]!}u) { let i = k - ${o}u; P${j}[i] = P${j}[i]${decays[j] ? ' * u.keep' : ''} - step * u.lr; }`)
    .join('');
  return `struct U { lr: f32, b1: f32, r1: f32, b2: f32, r2: f32, bc1: f32, bc2: f32, eps: f32, keep: f32, start: u32, end: u32, pad: u32 };
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> M: array<f32>;
@group(0) @binding(3) var<storage, read_write> V: array<f32>;
${decl}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let k = u.start + gid.x + gid.y * nw.x * 64u;
  if (k >= u.end) { return; }
  let g = G[k];
  let m = M[k] * u.b1 + g * u.r1;
  let v = V[k] * u.b2 + (g * g) * u.r2;
  M[k] = m;
  V[k] = v;
  let step = (m / u.bc1) / (sqrt(v / u.bc2) + u.eps);
  ${updates}
}`;
}

/** Records the update of every parameter, GROUP per dispatch. The caller checked that the buffers are not shared. */
export function adamwGrouped(s: GroupedStep): void {
  const b = tf.backend() as unknown as RawBackend;
  const batch = tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number;
  const buffer = (t: tf.Tensor) => {
    b.uploadToGPU(t.dataId);
    b.commandQueueOwnedIds.add(t.dataId);
    return { buffer: b.tensorMap.get(t.dataId).resource };
  };
  let start = 0;
  for (let first = 0; first < s.params.length; first += GROUP) {
    const idx = s.params.slice(first, first + GROUP).map((_, j) => first + j);
    const offsets: number[] = [];
    let end = start;
    for (const i of idx) {
      offsets.push(end);
      end += s.sizes[i]!;
    }
    const code = shader(
      offsets,
      idx.map((i) => s.sizes[i]!),
      idx.map((i) => s.decays[i]!),
    );
    let pipe = pipelines.get(code);
    if (!pipe) {
      pipe = b.device.createComputePipeline({ layout: 'auto', compute: { module: b.device.createShaderModule({ code }), entryPoint: 'main' } });
      pipelines.set(code, pipe);
    }
    const data = new ArrayBuffer(48);
    new Float32Array(data, 0, 9).set(s.scalars);
    new Uint32Array(data, 36, 2).set([start, end]);
    const uniform = b.bufferManager.acquireBuffer(48, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    b.queue.writeBuffer(uniform, 0, data);
    b.uniformPendingDisposal.push(uniform);
    const tensors = [s.g, s.m, s.v, ...idx.map((i) => s.params[i]!)];
    const group = b.device.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: uniform } }, ...tensors.map((t, j) => ({ binding: j + 1, resource: buffer(t) }))],
    });
    b.ensureCommandEncoderReady();
    b.computePassEncoder ??= b.commandEncoder.beginComputePass({});
    const workgroups = Math.ceil((end - start) / 64);
    const x = Math.min(workgroups, 65535);
    b.computePassEncoder.setPipeline(pipe);
    b.computePassEncoder.setBindGroup(0, group);
    b.computePassEncoder.dispatchWorkgroups(x, Math.ceil(workgroups / x));
    noteDispatch('scion_adamw_grouped');
    if (++b.dispatchCountInPass >= batch) {
      b.endComputePassEncoder();
      b.submitQueue();
    }
    start = end;
  }
}
