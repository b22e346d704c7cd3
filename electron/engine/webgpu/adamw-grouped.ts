/**
 * AdamW in place with several parameters per dispatch: tfjs's programs have one writable
 * binding, so this records its own compute pipeline (raw.ts), binding the flat gradient, the flat moments and up to GROUP parameters read-write (the
 * default WebGPU limit is 8 storage buffers per shader). Each thread updates one flat entry:
 * its moments, then the parameter entry it belongs to (the parameters' offsets are constants
 * of the shader, made once per group). Same float32 arithmetic, in the same order, as
 * AdamW.applyFlat.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { MAX_GROUPS_PER_DIM } from './program.ts';
import { dispatchRaw } from './raw.ts';

export const GROUP = 5;

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
    const data = new ArrayBuffer(48);
    new Float32Array(data, 0, 9).set(s.scalars);
    new Uint32Array(data, 36, 2).set([start, end]);
    const workgroups = Math.ceil((end - start) / 64);
    const x = Math.min(workgroups, MAX_GROUPS_PER_DIM);
    dispatchRaw(code, [s.g, s.m, s.v, ...idx.map((i) => s.params[i]!)], data, [x, Math.ceil(workgroups / x), 1], 'scion_adamw_grouped');
    start = end;
  }
}
