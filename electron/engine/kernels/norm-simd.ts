/**
 * LayerNorm and RMSNorm rows, forward and backward, as WebAssembly SIMD functions (built by
 * wasm-asm.ts, run on the wasm backend's heap; norm-kernels.ts registers them as kernels).
 * Every row has D floats, D a multiple of 4; pointers are byte addresses.
 * - lnFwd / rmsFwd (x, g, b, y, h, r, N, D, epsBits): per row, mean (LayerNorm only) and
 *   rstd = 1 / sqrt(mean((x - mean)^2) + eps) into r[i], h = (x - mean) rstd, y = h g (+ b).
 * - lnBwd / rmsBwd (dy, h, r, g, dx, dg, db, N, D): per row, with dh = dy g,
 *   dx = r (dh - mean(dh) - h mean(dh h)) (RMSNorm: no mean(dh) term); dg += dy h and
 *   db += dy over the rows (dg and db zeroed by the caller).
 * Sums run in float32, four lanes at a time.
 */
import { F32, I32, V128, assemble, at, forLoop, load, op, type WasmFunction } from './wasm-asm.ts';

/** The sum of a vector's four lanes: (l0 + l1) + (l2 + l3). Leaves an f32. */
function laneSum(v: number): number[] {
  return [
    ...op.get(v),
    ...op.f32x4ExtractLane(0),
    ...op.get(v),
    ...op.f32x4ExtractLane(1),
    ...op.f32Add,
    ...op.get(v),
    ...op.f32x4ExtractLane(2),
    ...op.get(v),
    ...op.f32x4ExtractLane(3),
    ...op.f32Add,
    ...op.f32Add,
  ];
}

/** base + i * step into `dst`. */
const rowPtr = (dst: number, base: number, i: number, step: number) => [...op.get(base), ...op.get(i), ...op.get(step), ...op.mul, ...op.add, ...op.set(dst)];

function forward(rms: boolean): WasmFunction {
  const [x, g, b, y, h, r, N, D, eps] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, j, xp, hp, yp, dB] = [9, 10, 11, 12, 13, 14];
  const [mean, rstd, fd] = [15, 16, 17];
  const [acc, vm, vr, c] = [18, 19, 20, 21];
  const sumRow = (body: number[]) => [...op.v128Zero, ...op.set(acc), ...forLoop(j, dB, body, [...op.get(j), ...op.i32(16), ...op.add])];
  const meanPart = rms
    ? [...op.v128Zero, ...op.set(vm)]
    : [
        ...sumRow([...op.get(acc), ...load(xp, j), ...op.f32x4Add, ...op.set(acc)]),
        ...laneSum(acc),
        ...op.get(fd),
        ...op.f32Div,
        ...op.set(mean),
        ...op.get(mean),
        ...op.f32x4Splat,
        ...op.set(vm),
      ];
  const row = [
    ...rowPtr(xp, x, i, dB),
    ...rowPtr(hp, h, i, dB),
    ...rowPtr(yp, y, i, dB),
    ...meanPart,
    ...sumRow([
      ...load(xp, j),
      ...op.get(vm),
      ...op.f32x4Sub,
      ...op.set(c),
      ...op.get(acc),
      ...op.get(c),
      ...op.get(c),
      ...op.f32x4Mul,
      ...op.f32x4Add,
      ...op.set(acc),
    ]),
    // rstd = 1 / sqrt(sum / D + eps), stored at r[i]
    ...op.f32Const(1),
    ...laneSum(acc),
    ...op.get(fd),
    ...op.f32Div,
    ...op.get(eps),
    ...op.f32FromBits,
    ...op.f32Add,
    ...op.f32Sqrt,
    ...op.f32Div,
    ...op.set(rstd),
    ...op.get(r),
    ...op.get(i),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.get(rstd),
    ...op.f32Store(),
    ...op.get(rstd),
    ...op.f32x4Splat,
    ...op.set(vr),
    ...forLoop(
      j,
      dB,
      [
        ...load(xp, j),
        ...op.get(vm),
        ...op.f32x4Sub,
        ...op.get(vr),
        ...op.f32x4Mul,
        ...op.set(c), // h
        ...at(hp, j),
        ...op.get(c),
        ...op.v128Store(),
        ...at(yp, j),
        ...op.get(c),
        ...load(g, j),
        ...op.f32x4Mul,
        ...(rms ? [] : [...load(b, j), ...op.f32x4Add]),
        ...op.v128Store(),
      ],
      [...op.get(j), ...op.i32(16), ...op.add],
    ),
  ];
  return {
    name: rms ? 'rmsFwd' : 'lnFwd',
    params: 9,
    locals: [
      { count: 6, type: I32 },
      { count: 3, type: F32 },
      { count: 4, type: V128 },
    ],
    body: [...op.get(D), ...op.i32(2), ...op.shl, ...op.set(dB), ...op.get(D), ...op.f32FromI32U, ...op.set(fd), ...forLoop(i, N, row)],
  };
}

function backward(rms: boolean): WasmFunction {
  const [dy, h, r, g, dx, dg, db, N, D] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [i, j, dyp, hp, dxp, dB] = [9, 10, 11, 12, 13, 14];
  const fd = 15;
  const [a1, a2, dyv, hv, gv, vm1, vm2, vr] = [16, 17, 18, 19, 20, 21, 22, 23];
  const step = [...op.get(j), ...op.i32(16), ...op.add];
  const row = [
    ...rowPtr(dyp, dy, i, dB),
    ...rowPtr(hp, h, i, dB),
    ...rowPtr(dxp, dx, i, dB),
    ...op.v128Zero,
    ...op.set(a1),
    ...op.v128Zero,
    ...op.set(a2),
    ...forLoop(
      j,
      dB,
      [
        ...load(dyp, j),
        ...op.set(dyv),
        ...load(hp, j),
        ...op.set(hv),
        ...op.get(dyv),
        ...load(g, j),
        ...op.f32x4Mul,
        ...op.set(gv), // dh = dy g
        ...op.get(a1),
        ...op.get(gv),
        ...op.f32x4Add,
        ...op.set(a1),
        ...op.get(a2),
        ...op.get(gv),
        ...op.get(hv),
        ...op.f32x4Mul,
        ...op.f32x4Add,
        ...op.set(a2),
        ...at(dg, j),
        ...load(dg, j),
        ...op.get(dyv),
        ...op.get(hv),
        ...op.f32x4Mul,
        ...op.f32x4Add,
        ...op.v128Store(),
        ...(rms ? [] : [...at(db, j), ...load(db, j), ...op.get(dyv), ...op.f32x4Add, ...op.v128Store()]),
      ],
      step,
    ),
    ...(rms ? [...op.v128Zero] : [...laneSum(a1), ...op.get(fd), ...op.f32Div, ...op.f32x4Splat]),
    ...op.set(vm1),
    ...laneSum(a2),
    ...op.get(fd),
    ...op.f32Div,
    ...op.f32x4Splat,
    ...op.set(vm2),
    ...op.get(r),
    ...op.get(i),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.f32Load(),
    ...op.f32x4Splat,
    ...op.set(vr),
    ...forLoop(
      j,
      dB,
      [
        ...at(dxp, j),
        ...load(dyp, j),
        ...load(g, j),
        ...op.f32x4Mul,
        ...op.get(vm1),
        ...op.f32x4Sub,
        ...load(hp, j),
        ...op.get(vm2),
        ...op.f32x4Mul,
        ...op.f32x4Sub,
        ...op.get(vr),
        ...op.f32x4Mul,
        ...op.v128Store(),
      ],
      step,
    ),
  ];
  return {
    name: rms ? 'rmsBwd' : 'lnBwd',
    params: 9,
    locals: [
      { count: 6, type: I32 },
      { count: 1, type: F32 },
      { count: 8, type: V128 },
    ],
    body: [...op.get(D), ...op.i32(2), ...op.shl, ...op.set(dB), ...op.get(D), ...op.f32FromI32U, ...op.set(fd), ...forLoop(i, N, row)],
  };
}

type Fwd = (x: number, g: number, b: number, y: number, h: number, r: number, n: number, d: number, epsBits: number) => void;
type Bwd = (dy: number, h: number, r: number, g: number, dx: number, dg: number, db: number, n: number, d: number) => void;

export interface NormSimd {
  lnFwd: Fwd;
  rmsFwd: Fwd;
  lnBwd: Bwd;
  rmsBwd: Bwd;
}

export const NORM_MODULE_BYTES = assemble([forward(false), forward(true), backward(false), backward(true)]);
