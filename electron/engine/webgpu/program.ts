/**
 * Scion's WGSL programs on tfjs's WebGPU backend: one thread per `threads` work item (a row,
 * a column, an element), 64 to a workgroup, flat dispatch. tfjs declares the inputs (as
 * `array<f32>` or `array<i32>` named by `inputs`), the output `result`, and the uniforms
 * (`uniforms.n` = threads, plus `uniforms` given here); the program body is `fn main(index: i32)`.
 * Pipelines are made once per shader key (tfjs caches them by key, ranks and dtypes).
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

const WORKGROUP = 64;
export const MAX_GROUPS_PER_DIM = 65535;

export interface Uniform {
  name: string;
  type: 'f32' | 'i32';
  value: number;
}

export const f32 = (name: string, value: number): Uniform => ({ name, type: 'f32', value });
export const i32 = (name: string, value: number): Uniform => ({ name, type: 'i32', value });

/** A tfjs kernel function on the webgpu backend. */
export type Kernel = (a: { inputs: Record<string, TensorInfo>; backend: WebGPUBackend; attrs: Record<string, unknown> }) => TensorInfo;

class ScionProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms: string;
  size = false;
  constructor(
    key: string,
    inputs: string[],
    outShape: number[],
    threads: number,
    uniforms: Uniform[],
    private readonly body: string,
  ) {
    this.shaderKey = `scion_${key}`;
    this.variableNames = inputs;
    this.outputShape = outShape;
    this.dispatchLayout = { x: outShape.map((_, i) => i) };
    // at most 65535 workgroups per dimension (WebGPU's default limit): the rest go to y, and
    // tfjs's flat global index (workgroup y * x count + x) numbers them on
    const groups = Math.max(1, Math.ceil(threads / WORKGROUP));
    const x = Math.min(groups, MAX_GROUPS_PER_DIM);
    this.dispatch = [x, Math.ceil(groups / x), 1];
    this.uniforms = ['n : i32,', ...uniforms.map((u) => `${u.name} : ${u.type},`)].join(' ');
  }
  getUserCode(): string {
    return `fn main(index : i32) {\n  if (index >= uniforms.n) { return; }\n${this.body}\n}`;
  }
}

/**
 * Runs one program: `threads` invocations of `body` over `inputs` (named by `names`), writing
 * a float32 output of `outShape`, or into `into` (an existing tensor, updated in place).
 * `key` must name everything that changes the code (not the sizes, which are uniforms).
 */
export function runProgram(
  backend: WebGPUBackend,
  key: string,
  names: string[],
  inputs: TensorInfo[],
  outShape: number[],
  threads: number,
  uniforms: Uniform[],
  body: string,
  into?: TensorInfo,
): TensorInfo {
  const program = new ScionProgram(key, names, outShape, threads, uniforms, body);
  const data = [{ type: 'int32', data: [threads] }, ...uniforms.map((u) => ({ type: u.type === 'f32' ? 'float32' : 'int32', data: [u.value] }))];
  return backend.runWebGPUProgram(program, inputs, 'float32', data, into);
}
