/**
 * The all-reduce and the AdamW update of a threaded step (train/parallel/slice-math.ts) as
 * WebAssembly SIMD functions on the thread pool's shared memory (built by wasm-asm.ts), four
 * floats at a time. They do the float32 operations of slice-math.ts's loops in the same order:
 * an f32x4 operation is correctly rounded, as Math.fround of the float64 result is for + - * /
 * and sqrt of float32 numbers, so both give the same bits. Pointers are byte addresses, read as
 * unsigned (the memory may pass 2 GiB); `nb` is a byte length, a multiple of 16; float scalars
 * come as the bits of a float32 (i32 parameters).
 * - addScaled(out, a, wa, b, wb, nb, sq): out = a wa + b wb (each product rounded, then the sum);
 *   the float64 sum of out's squares stored at sq (8 bytes).
 * - adamw(p, m, v, g, nb, keep, scale, b1, ob1, b2, ob2, bc1, bc2, eps, lr): with gi = g scale,
 *   m = m b1 + gi ob1, v = v b2 + gi^2 ob2, p = p keep - lr (m / bc1) / (sqrt(v / bc2) + eps).
 */
import { I32, V128, assemble, at, forLoop, load, op, type WasmFunction } from './wasm-asm.ts';

/** The float32 whose bits are in i32 local `bits`, in all four lanes, into local `dst`. */
const splat = (bits: number, dst: number) => [...op.get(bits), ...op.f32FromBits, ...op.f32x4Splat, ...op.set(dst)];
const step16 = (j: number) => [...op.get(j), ...op.i32(16), ...op.add];

function addScaled(): WasmFunction {
  const [out, a, wa, b, wb, nb, sq] = [0, 1, 2, 3, 4, 5, 6];
  const j = 7;
  const [va, vb, acc, s0, s1, t] = [8, 9, 10, 11, 12, 13];
  /** s += t * t, t = the f64x2 of two lanes of acc. */
  const square = (s: number, lanes: number[]) => [
    ...lanes,
    ...op.f64x2PromoteLow,
    ...op.set(t),
    ...op.get(s),
    ...op.get(t),
    ...op.get(t),
    ...op.f64x2Mul,
    ...op.f64x2Add,
    ...op.set(s),
  ];
  const body = [
    ...load(a, j),
    ...op.get(va),
    ...op.f32x4Mul,
    ...load(b, j),
    ...op.get(vb),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.set(acc),
    ...at(out, j),
    ...op.get(acc),
    ...op.v128Store(),
    ...square(s0, op.get(acc)),
    ...square(s1, [...op.get(acc), ...op.get(acc), ...op.f32x4Shuffle([2, 3, 2, 3])]),
  ];
  return {
    name: 'addScaled',
    params: 7,
    locals: [
      { count: 1, type: I32 },
      { count: 6, type: V128 },
    ],
    body: [
      ...splat(wa, va),
      ...splat(wb, vb),
      ...op.v128Zero,
      ...op.set(s0),
      ...op.v128Zero,
      ...op.set(s1),
      ...forLoop(j, nb, body, step16(j)),
      ...op.get(s0),
      ...op.get(s1),
      ...op.f64x2Add,
      ...op.set(t),
      ...op.get(sq),
      ...op.get(t),
      ...op.f64x2ExtractLane(0),
      ...op.get(t),
      ...op.f64x2ExtractLane(1),
      ...op.f64Add,
      ...op.f64Store(),
    ],
  };
}

function adamw(): WasmFunction {
  const [p, m, v, g, nb] = [0, 1, 2, 3, 4];
  const scalars = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]; // keep, scale, b1, ob1, b2, ob2, bc1, bc2, eps, lr
  const j = 15;
  const [K, S, B1, OB1, B2, OB2, BC1, BC2, E, L] = [16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
  const [gi, m1, v1] = [26, 27, 28];
  const body = [
    ...load(g, j),
    ...op.get(S),
    ...op.f32x4Mul,
    ...op.set(gi),
    // m1 = m b1 + gi ob1
    ...load(m, j),
    ...op.get(B1),
    ...op.f32x4Mul,
    ...op.get(gi),
    ...op.get(OB1),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.set(m1),
    // v1 = v b2 + (gi gi) ob2
    ...load(v, j),
    ...op.get(B2),
    ...op.f32x4Mul,
    ...op.get(gi),
    ...op.get(gi),
    ...op.f32x4Mul,
    ...op.get(OB2),
    ...op.f32x4Mul,
    ...op.f32x4Add,
    ...op.set(v1),
    ...at(m, j),
    ...op.get(m1),
    ...op.v128Store(),
    ...at(v, j),
    ...op.get(v1),
    ...op.v128Store(),
    // p = p keep - ((m1 / bc1) / (sqrt(v1 / bc2) + eps)) lr
    ...at(p, j),
    ...load(p, j),
    ...op.get(K),
    ...op.f32x4Mul,
    ...op.get(m1),
    ...op.get(BC1),
    ...op.f32x4Div,
    ...op.get(v1),
    ...op.get(BC2),
    ...op.f32x4Div,
    ...op.f32x4Sqrt,
    ...op.get(E),
    ...op.f32x4Add,
    ...op.f32x4Div,
    ...op.get(L),
    ...op.f32x4Mul,
    ...op.f32x4Sub,
    ...op.v128Store(),
  ];
  return {
    name: 'adamw',
    params: 15,
    locals: [
      { count: 1, type: I32 },
      { count: 13, type: V128 },
    ],
    body: [...scalars.flatMap((bits, i) => splat(bits, K + i)), ...forLoop(j, nb, body, step16(j))],
  };
}

export interface SliceSimd {
  addScaled: (out: number, a: number, wa: number, b: number, wb: number, nb: number, sq: number) => void;
  // prettier-ignore
  adamw: (p: number, m: number, v: number, g: number, nb: number, keep: number, scale: number, b1: number, ob1: number,
    b2: number, ob2: number, bc1: number, bc2: number, eps: number, lr: number) => void;
}

export const SLICE_MODULE_BYTES = assemble([addScaled(), adamw()], { shared: true });
