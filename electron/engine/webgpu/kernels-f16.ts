/**
 * Mixed precision on WebGPU (`--precision f16`, adapters with `shader-f16`): the matrix
 * products read f16 operands and accumulate in f32.
 *   ScionToF16      a float32 tensor of n entries to n f16 values, two per 32-bit word, in a
 *                   float32 tensor [ceil(n/2)] (tfjs has no f16 dtype: only these kernels read
 *                   it). Round to nearest; beyond the f16 range (|x| >= 65520) +-inf, NaN kept,
 *                   so an overflow reaches the loss scaler (train/loss-scale.ts) as inf.
 *   ScionMatMulF16  C [M, N] (float32) = op(A) op(B) (+ bias [N]), A and B packed f16,
 *                   op = transpose or not (compile-time): 32 x 32 tiles of C per workgroup of
 *                   8 x 8 threads, 4 x 4 entries each; the K dimension in tiles of 32 held in
 *                   workgroup memory as f16; products in f16 (vec4<f16>), sums in f32.
 * Both are Scion's own pipelines (raw.ts): tfjs's programs declare every buffer as f32/i32.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_GROUPS_PER_DIM, type Kernel } from './program.ts';
import { dispatchRaw } from './raw.ts';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

const TO_F16 = `
struct U { n: u32, pad0: u32, pad1: u32, pad2: u32 };
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<u32>;
fn half(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  if ((b & 0x7fffffffu) > 0x7f800000u) { return sign | 0x7e00u; }
  if (abs(x) >= 65520.0) { return sign | 0x7c00u; }
  return pack2x16float(vec2<f32>(x, 0.0)) & 0xffffu;
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>) {
  let p = gid.x + gid.y * nw.x * 64u;
  let i = 2u * p;
  if (i >= u.n) { return; }
  var hi = 0u;
  if (i + 1u < u.n) { hi = half(X[i + 1u]); }
  OUT[p] = half(X[i]) | (hi << 16u);
}`;

/** x (float32, any shape) to its packed f16 copy [ceil(n/2)]. */
const toF16: Kernel = ({ inputs: { x }, backend }) => {
  const n = size(x!.shape);
  const pairs = Math.max(1, Math.ceil(n / 2));
  const out = backend.makeTensorInfo([pairs], 'float32');
  const groups = Math.ceil(pairs / 64);
  const gx = Math.min(groups, MAX_GROUPS_PER_DIM);
  dispatchRaw(TO_F16, [x!, out], new Uint32Array([n, 0, 0, 0]).buffer, [gx, Math.ceil(groups / gx), 1], 'scion_tof16');
  return out;
};

/** Loads the 32 x 32 tile of `name` at (row0 + r, col0 + c), r along the stored rows, in the order that reads memory contiguously. */
function tileLoad(tile: string, get: string, contiguousInner: boolean): string {
  // e -> (kk, xx): the tile is stored [kk][xx]; contiguous memory runs along xx (transposed storage) or kk
  const [kk, xx] = contiguousInner ? ['e / 32u', 'e % 32u'] : ['e % 32u', 'e / 32u'];
  return `for (var e = li; e < 1024u; e += 64u) { let kk = ${kk}; let xx = ${xx}; ${tile}[kk * 32u + xx] = ${get}; }`;
}

function matmulShader(transA: boolean, transB: boolean, bias: boolean): string {
  // A is op(A) [M, K]: stored [K, M] (transA) or [M, K]; B is op(B) [K, N]: stored [N, K] (transB) or [K, N]
  const aAt = transA ? 'k * u.m + m' : 'm * u.k + k';
  const bAt = transB ? 'n * u.k + k' : 'k * u.n + n';
  return `enable f16;
struct U { m: u32, n: u32, k: u32, pad: u32 };
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> A: array<f16>;
@group(0) @binding(2) var<storage, read> B: array<f16>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
${bias ? '@group(0) @binding(4) var<storage, read> BIAS: array<f32>;' : ''}
var<workgroup> As: array<f16, 1024>;
var<workgroup> Bs: array<f16, 1024>;
fn a(m: u32, k: u32) -> f16 { if (m >= u.m || k >= u.k) { return 0.0h; } return A[${aAt}]; }
fn b(k: u32, n: u32) -> f16 { if (k >= u.k || n >= u.n) { return 0.0h; } return B[${bAt}]; }
@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.y * 32u; let n0 = wg.x * 32u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < u.k; k0 += 32u) {
    ${tileLoad('As', 'a(m0 + xx, k0 + kk)', transA)}
    ${tileLoad('Bs', 'b(k0 + kk, n0 + xx)', !transB)}
    workgroupBarrier();
    for (var kk = 0u; kk < 32u; kk++) {
      let o = kk * 32u + lid.x * 4u;
      let bv = vec4<f16>(Bs[o], Bs[o + 1u], Bs[o + 2u], Bs[o + 3u]);
      for (var i = 0u; i < 4u; i++) { acc[i] += vec4<f32>(As[kk * 32u + lid.y * 4u + i] * bv); }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + lid.x * 4u + j;
      if (m < u.m && n < u.n) { C[m * u.n + n] = acc[i][j]${bias ? ' + BIAS[n]' : ''}; }
    }
  }
}`;
}

/**
 * attrs: m, n, k (op(A) [m, k], op(B) [k, n]), transA, transB; inputs a, b (packed f16), bias
 * (optional, float32 [n]). Returns float32 [m, n].
 */
const matmulF16: Kernel = ({ inputs: { a, b, bias }, backend, attrs }) => {
  const [m, n, k] = ['m', 'n', 'k'].map((x) => attrs[x] as number) as [number, number, number];
  const [transA, transB] = [attrs['transA'] === true, attrs['transB'] === true];
  const out = backend.makeTensorInfo([m, n], 'float32');
  const ins: TensorInfo[] = [a!, b!, out, ...(bias ? [bias] : [])];
  dispatchRaw(
    matmulShader(transA, transB, bias !== undefined),
    ins,
    new Uint32Array([m, n, k, 0]).buffer,
    [Math.ceil(n / 32), Math.ceil(m / 32), 1],
    'scion_matmulf16',
  );
  return out;
};

export const F16_KERNELS: Record<string, Kernel> = { ScionToF16: toF16, ScionMatMulF16: matmulF16 };
