/**
 * Hand-written WebAssembly SIMD kernels for what the tfjs wasm backend does slowly, built
 * at run time by wasm-asm.ts and run directly on the backend's heap:
 * - bmm16 / bmm4: batched C[g] = A[g] · B[g] (A [M, K], B [K, N], N a multiple of 16 / 4),
 *   register-blocked over 16 / 4 output columns; the backend's own batched product runs a
 *   scalar loop (about 3 GFLOP/s at attention sizes).
 * - swap: batched transpose of the last two axes (G x [R, C] -> G x [C, R]).
 * - swap4: the same for R and C multiples of 4, in 4 x 4 tiles transposed in registers
 *   (four vector loads, eight shuffles, four vector stores): the scalar swap's column-wise
 *   stores hit one cache set over and over for R = 512 (a 2 KB stride), 5-10x slower.
 */
import { V128, I32, assemble, forLoop, op, type WasmFunction } from './wasm-asm.ts';

/** Parameters: a 0, b 1, c 2, G 3, M 4, K 5, N 6 (byte pointers and sizes). */
function bmm(name: string, width: 4 | 16): WasmFunction {
  const [a, b, c, G, M, K, N] = [0, 1, 2, 3, 4, 5, 6];
  const [g, i, j, k, ap, bp, cp, nBytes] = [7, 8, 9, 10, 11, 12, 13, 14];
  const s = 15;
  const accs = width === 16 ? [16, 17, 18, 19] : [16];
  const kBody = [
    ...op.get(ap),
    ...op.f32Load(),
    ...op.f32x4Splat,
    ...op.set(s),
    ...accs.flatMap((acc, q) => [...op.get(acc), ...op.get(s), ...op.get(bp), ...op.v128Load(16 * q), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(acc)]),
    ...op.get(ap),
    ...op.i32(4),
    ...op.add,
    ...op.set(ap),
    ...op.get(bp),
    ...op.get(nBytes),
    ...op.add,
    ...op.set(bp),
  ];
  const jBody = [
    ...accs.flatMap((acc) => [...op.v128Zero, ...op.set(acc)]),
    ...op.get(a),
    ...op.get(i),
    ...op.get(K),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(ap),
    ...op.get(b),
    ...op.get(j),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(bp),
    ...forLoop(k, K, kBody),
    ...op.get(c),
    ...op.get(i),
    ...op.get(N),
    ...op.mul,
    ...op.get(j),
    ...op.add,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(cp),
    ...accs.flatMap((acc, q) => [...op.get(cp), ...op.get(acc), ...op.v128Store(16 * q)]),
  ];
  const gBody = [
    ...forLoop(i, M, forLoop(j, N, jBody, [...op.get(j), ...op.i32(width), ...op.add])),
    ...op.get(a),
    ...op.get(M),
    ...op.get(K),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(a),
    ...op.get(b),
    ...op.get(K),
    ...op.get(N),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(b),
    ...op.get(c),
    ...op.get(M),
    ...op.get(N),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(c),
  ];
  return {
    name,
    params: 7,
    locals: [
      { count: 8, type: I32 },
      { count: 1 + accs.length, type: V128 },
    ],
    body: [...op.get(N), ...op.i32(2), ...op.shl, ...op.set(nBytes), ...forLoop(g, G, gBody)],
  };
}

/** Parameters: src 0, dst 1, G 2, R 3, C 4. dst[g][c][r] = src[g][r][c]. */
function swap(): WasmFunction {
  const [src, dst, G, R, C] = [0, 1, 2, 3, 4];
  const [g, r, c, sp, dp, rBytes] = [5, 6, 7, 8, 9, 10];
  const cBody = [
    ...op.get(dp),
    ...op.get(sp),
    ...op.f32Load(),
    ...op.f32Store(),
    ...op.get(sp),
    ...op.i32(4),
    ...op.add,
    ...op.set(sp),
    ...op.get(dp),
    ...op.get(rBytes),
    ...op.add,
    ...op.set(dp),
  ];
  const rBody = [
    ...op.get(src),
    ...op.get(r),
    ...op.get(C),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(sp),
    ...op.get(dst),
    ...op.get(r),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(dp),
    ...forLoop(c, C, cBody),
  ];
  const gBody = [
    ...forLoop(r, R, rBody),
    ...op.get(src),
    ...op.get(R),
    ...op.get(C),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(src),
    ...op.get(dst),
    ...op.get(R),
    ...op.get(C),
    ...op.mul,
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(dst),
  ];
  return {
    name: 'swap',
    params: 5,
    locals: [{ count: 6, type: I32 }],
    body: [...op.get(R), ...op.i32(2), ...op.shl, ...op.set(rBytes), ...forLoop(g, G, gBody)],
  };
}

/** Parameters: src 0, dst 1, G 2, R 3, C 4, with R and C multiples of 4. dst[g][c][r] = src[g][r][c]. */
function swap4(): WasmFunction {
  const [src, dst, G, R, C] = [0, 1, 2, 3, 4];
  const [g, r, c, s0, s1, s2, s3, dp, rB, cB, r2B, r3B, stepD] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const [v0, v1, v2, v3, t0, t1, t2, t3] = [18, 19, 20, 21, 22, 23, 24, 25];
  const lo: [number, number, number, number] = [0, 4, 1, 5];
  const hi: [number, number, number, number] = [2, 6, 3, 7];
  const cBody = [
    ...[s0, s1, s2, s3].flatMap((sp, q) => [...op.get(sp), ...op.v128Load(), ...op.set([v0, v1, v2, v3][q]!)]),
    ...op.get(v0),
    ...op.get(v1),
    ...op.f32x4Shuffle(lo),
    ...op.set(t0), // v0[0] v1[0] v0[1] v1[1]
    ...op.get(v0),
    ...op.get(v1),
    ...op.f32x4Shuffle(hi),
    ...op.set(t1), // v0[2] v1[2] v0[3] v1[3]
    ...op.get(v2),
    ...op.get(v3),
    ...op.f32x4Shuffle(lo),
    ...op.set(t2),
    ...op.get(v2),
    ...op.get(v3),
    ...op.f32x4Shuffle(hi),
    ...op.set(t3),
    ...op.get(dp),
    ...op.get(t0),
    ...op.get(t2),
    ...op.f32x4Shuffle([0, 1, 4, 5]),
    ...op.v128Store(), // column c
    ...op.get(dp),
    ...op.get(rB),
    ...op.add,
    ...op.get(t0),
    ...op.get(t2),
    ...op.f32x4Shuffle([2, 3, 6, 7]),
    ...op.v128Store(),
    ...op.get(dp),
    ...op.get(r2B),
    ...op.add,
    ...op.get(t1),
    ...op.get(t3),
    ...op.f32x4Shuffle([0, 1, 4, 5]),
    ...op.v128Store(),
    ...op.get(dp),
    ...op.get(r3B),
    ...op.add,
    ...op.get(t1),
    ...op.get(t3),
    ...op.f32x4Shuffle([2, 3, 6, 7]),
    ...op.v128Store(),
    ...[s0, s1, s2, s3].flatMap((sp) => [...op.get(sp), ...op.i32(16), ...op.add, ...op.set(sp)]),
    ...op.get(dp),
    ...op.get(stepD),
    ...op.add,
    ...op.set(dp),
  ];
  const rBody = [
    ...op.get(src),
    ...op.get(r),
    ...op.get(cB),
    ...op.mul,
    ...op.add,
    ...op.set(s0),
    ...op.get(s0),
    ...op.get(cB),
    ...op.add,
    ...op.set(s1),
    ...op.get(s1),
    ...op.get(cB),
    ...op.add,
    ...op.set(s2),
    ...op.get(s2),
    ...op.get(cB),
    ...op.add,
    ...op.set(s3),
    ...op.get(dst),
    ...op.get(r),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.set(dp),
    ...forLoop(c, C, cBody, [...op.get(c), ...op.i32(4), ...op.add]),
  ];
  const gBody = [
    ...forLoop(r, R, rBody, [...op.get(r), ...op.i32(4), ...op.add]),
    ...op.get(src),
    ...op.get(R),
    ...op.get(cB),
    ...op.mul,
    ...op.add,
    ...op.set(src),
    ...op.get(dst),
    ...op.get(R),
    ...op.get(cB),
    ...op.mul,
    ...op.add,
    ...op.set(dst),
  ];
  return {
    name: 'swap4',
    params: 5,
    locals: [
      { count: 13, type: I32 },
      { count: 8, type: V128 },
    ],
    body: [
      ...op.get(R),
      ...op.i32(2),
      ...op.shl,
      ...op.set(rB),
      ...op.get(C),
      ...op.i32(2),
      ...op.shl,
      ...op.set(cB),
      ...op.get(rB),
      ...op.get(rB),
      ...op.add,
      ...op.set(r2B),
      ...op.get(r2B),
      ...op.get(rB),
      ...op.add,
      ...op.set(r3B),
      ...op.get(r2B),
      ...op.get(r2B),
      ...op.add,
      ...op.set(stepD),
      ...forLoop(g, G, gBody),
    ],
  };
}

export interface SimdKernels {
  bmm16: (a: number, b: number, c: number, g: number, m: number, k: number, n: number) => void;
  bmm4: (a: number, b: number, c: number, g: number, m: number, k: number, n: number) => void;
  swap: (src: number, dst: number, g: number, r: number, c: number) => void;
  swap4: (src: number, dst: number, g: number, r: number, c: number) => void;
}

export const SIMD_MODULE_BYTES = assemble([bmm('bmm16', 16), bmm('bmm4', 4), swap(), swap4()]);

/** A WebAssembly.Memory (the project's TypeScript lib has no WebAssembly declarations). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

/** Instantiates the kernels on `memory` (synchronously: the module is under 1 KB). Throws where WebAssembly SIMD is missing. */
export function instantiateSimdKernels(memory: WasmMemory): SimdKernels {
  return instantiateOnHeap<SimdKernels>(SIMD_MODULE_BYTES, memory);
}

/** Instantiates a module of wasm-asm.ts on `memory` (synchronously); its exports as `T`. Throws where WebAssembly SIMD is missing. */
export function instantiateOnHeap<T>(bytes: Uint8Array, memory: WasmMemory): T {
  const wa = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
  const inst = new wa.Instance(new wa.Module(bytes), { env: { memory } });
  return inst.exports as T;
}
