/**
 * Matrix products for the tfjs wasm backend's heap as WebAssembly SIMD (built by wasm-asm.ts):
 * gemm(a, b, c, G, M, K, N, pk) computes C[g] = A[g] · B[g] for g < G, A [M, K], B [K, N],
 * C [M, N] row-major, any sizes; pk is PANEL_BYTES of scratch; pointers are byte addresses
 * (unsigned). Every C entry is computed by the same operations in the same order whatever M, N
 * and K are (the last N % 16 columns go through a padded tile in the scratch), so a product and
 * a wider one agree on their common columns to the bit (growth's exactness checks rely on it).
 *
 * Tiles of 2 rows x 16 columns: per k, four vectors of B's row and one broadcast of each A
 * entry feed 8 multiply-adds into 8 accumulators (the tile stays in registers; x64 has 16).
 * K is walked in blocks of KB, and each [KB, 16] panel of B is first copied to pk (contiguous
 * 64-byte rows: B's own rows lie N floats apart, and for N a multiple of 256 or so they all map
 * to the same cache sets) where it stays in the first-level cache while every row pair of A
 * passes over it. C is zeroed first and each block adds onto it, so every C entry is the sum
 * over k in order, whatever the blocking.
 *
 * Two builds: with relaxed SIMD's f32x4.relaxed_madd (one rounding per multiply-add, FMA on
 * x64 with FMA3: about 1.7x XNNPACK's rate at the training step's sizes), or with f32x4.mul
 * then f32x4.add (two roundings, as tfjs's other kernels; ~1.25x).
 */
import { I32, V128, assemble, forLoop, op, type WasmFunction } from './wasm-asm.ts';

/** Columns of K per block: a [256, 16] panel of B is 16 KB. */
export const KB = 256;
/** Bytes of the scratch `pk`: one packed panel, then a tile of 2 rows x 16 columns of C (the last, narrower columns). */
export const PANEL_BYTES = KB * 16 * 4 + 2 * 64;
const TILE_AT = KB * 16 * 4;

const [a, b, c, G, M, K, N, pk] = [0, 1, 2, 3, 4, 5, 6, 7];
const PARAMS = 8;
const [g, kb, kn, j, i, kk, M2, nBytes, bp, ap0, ap1, cp0, cp1, kEnd, zp, zEnd, src, dst, N16, t, col] = Array.from({ length: 21 }, (_, x) => PARAMS + x);
const I32_LOCALS = 21;
const V0 = PARAMS + I32_LOCALS; // the first v128 local
const acc = (r: number, q: number) => V0 + 4 * r + q; // 8 accumulators
const bv = (q: number) => V0 + 8 + q; // 4 vectors of B's row
const sv = V0 + 12; // the broadcast A entry
const V128_LOCALS = 13;

const add = (x: number, y: number[]) => [...op.get(x), ...y, ...op.add];
const i32Mul = (x: number, y: number) => [...op.get(x), ...op.get(y), ...op.mul];
const bytes = (x: number[]) => [...x, ...op.i32(2), ...op.shl];
const step = (v: number, by: number) => [...op.get(v), ...op.i32(by), ...op.add];
/** `for (v = 0; v < t; v++) body`, t the width of the last columns. */
const overTail = (body: number[]) => forLoop(col, t, body);
/** c + ((i + r) N + N16 + col) 4: the address of C's entry at row i + r, column N16 + col. */
const cTail = (r: number) => [
  ...op.get(c),
  ...bytes([...op.get(i), ...op.i32(r), ...op.add, ...op.get(N), ...op.mul, ...op.get(N16), ...op.add, ...op.get(col), ...op.add]),
  ...op.add,
];
/** pk + TILE_AT + 64 r + 4 col: the same entry in the scratch tile. */
const sTail = (r: number) => [...op.get(pk), ...op.i32(TILE_AT + 64 * r), ...op.add, ...bytes(op.get(col)), ...op.add];

/**
 * One tile of R rows (1 or 2) x 16 columns at row i, for k in [kb, kb + kn), from the packed
 * panel: C's rows at cp0 (cp1), read, added to, written back. `full`: the tile is C's own
 * columns j..j+16; else the scratch tile (the last N % 16 columns, copied in and out).
 */
function tile(R: 1 | 2, fma: boolean, full: boolean): number[] {
  const aps = [ap0, ap1].slice(0, R);
  const cps = [cp0, cp1].slice(0, R);
  const rows = Array.from({ length: R }, (_, r) => r);
  const quads = [0, 1, 2, 3];
  const mac = (r: number, q: number) =>
    fma
      ? [...op.get(sv), ...op.get(bv(q)), ...op.get(acc(r, q)), ...op.f32x4RelaxedMadd, ...op.set(acc(r, q))]
      : [...op.get(acc(r, q)), ...op.get(sv), ...op.get(bv(q)), ...op.f32x4Mul, ...op.f32x4Add, ...op.set(acc(r, q))];
  const kBody = [
    ...quads.flatMap((q) => [...op.get(bp), ...op.v128Load(16 * q), ...op.set(bv(q))]),
    ...rows.flatMap((r) => [...op.get(aps[r]!), ...op.get(kk), ...op.add, ...op.v128Load32Splat(), ...op.set(sv), ...quads.flatMap((q) => mac(r, q))]),
    ...add(bp, op.i32(64)),
    ...op.set(bp),
  ];
  const cRows = full
    ? // cp_r = c + ((i + r) N + j) 4
      rows.flatMap((r) => [
        ...op.get(c),
        ...bytes([...op.get(i), ...op.i32(r), ...op.add, ...op.get(N), ...op.mul, ...op.get(j), ...op.add]),
        ...op.add,
        ...op.set(cps[r]!),
      ])
    : // the scratch tile, with C's last columns copied in
      rows.flatMap((r) => [
        ...op.get(pk),
        ...op.i32(TILE_AT + 64 * r),
        ...op.add,
        ...op.set(cps[r]!),
        ...overTail([...sTail(r), ...cTail(r), ...op.f32Load(), ...op.f32Store()]),
      ]);
  const copyBack = full ? [] : rows.flatMap((r) => overTail([...cTail(r), ...sTail(r), ...op.f32Load(), ...op.f32Store()]));
  return [
    ...cRows,
    // ap_r = a + ((i + r) K + kb) 4; bp = the packed panel
    ...rows.flatMap((r) => [
      ...op.get(a),
      ...bytes([...op.get(i), ...op.i32(r), ...op.add, ...op.get(K), ...op.mul, ...op.get(kb), ...op.add]),
      ...op.add,
      ...op.set(aps[r]!),
    ]),
    ...op.get(pk),
    ...op.set(bp),
    ...rows.flatMap((r) => quads.flatMap((q) => [...op.get(cps[r]!), ...op.v128Load(16 * q), ...op.set(acc(r, q))])),
    ...forLoop(kk, kEnd, kBody, step(kk, 4)),
    ...rows.flatMap((r) => quads.flatMap((q) => [...op.get(cps[r]!), ...op.get(acc(r, q)), ...op.v128Store(16 * q)])),
    ...copyBack,
  ];
}

/** `block; if (x >= y) skip; body; end`. */
const unless = (x: number, y: number, body: number[]) => [...op.block, ...op.get(x), ...op.get(y), ...op.geU, ...op.brIf(0), ...body, ...op.end];

function gemm(name: string, fma: boolean): WasmFunction {
  // C[g] = 0: 16 bytes at a time, then the last M N % 4 floats
  const zero = [
    ...op.get(c),
    ...bytes(i32Mul(M, N)),
    ...op.add,
    ...op.set(zEnd),
    ...op.get(c),
    ...op.set(zp),
    ...op.block,
    ...op.loop,
    ...op.get(zp),
    ...op.i32(16),
    ...op.add,
    ...op.get(zEnd),
    ...op.leU,
    ...op.i32(1),
    ...op.xor,
    ...op.brIf(1),
    ...op.get(zp),
    ...op.v128Zero,
    ...op.v128Store(),
    ...step(zp, 16),
    ...op.set(zp),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.block,
    ...op.loop,
    ...op.get(zp),
    ...op.get(zEnd),
    ...op.geU,
    ...op.brIf(1),
    ...op.get(zp),
    ...op.f32Const(0),
    ...op.f32Store(),
    ...step(zp, 4),
    ...op.set(zp),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
  // B[kb : kb + kn, j : j + 16] -> pk, 64 bytes a row (the last columns: t of them, then zeros)
  const pack = (full: boolean) => [
    ...op.get(b),
    ...bytes([...i32Mul(kb, N), ...op.get(j), ...op.add]),
    ...op.add,
    ...op.set(src),
    ...op.get(pk),
    ...op.set(dst),
    ...forLoop(
      kk,
      kEnd,
      [
        ...(full
          ? [0, 1, 2, 3].flatMap((q) => [...op.get(dst), ...op.get(src), ...op.v128Load(16 * q), ...op.v128Store(16 * q)])
          : [
              ...[0, 1, 2, 3].flatMap((q) => [...op.get(dst), ...op.v128Zero, ...op.v128Store(16 * q)]),
              ...overTail([
                ...op.get(dst),
                ...bytes(op.get(col)),
                ...op.add,
                ...op.get(src),
                ...bytes(op.get(col)),
                ...op.add,
                ...op.f32Load(),
                ...op.f32Store(),
              ]),
            ]),
        ...add(src, op.get(nBytes)),
        ...op.set(src),
        ...step(dst, 64),
        ...op.set(dst),
      ],
      step(kk, 4),
    ),
  ];
  // the row pairs, then the last row when M is odd
  const columns = (full: boolean) => [
    ...forLoop(i, M2, tile(2, fma, full), step(i, 2)),
    ...unless(M2, M, [...op.get(M2), ...op.set(i), ...tile(1, fma, full)]),
  ];
  const kBlock = [
    // kn = min(KB, K - kb); kEnd = 4 kn (the bytes of A's row a block walks)
    ...op.get(K),
    ...op.get(kb),
    ...op.sub,
    ...op.set(kn),
    ...op.block,
    ...op.get(kn),
    ...op.i32(KB),
    ...op.leU,
    ...op.brIf(0),
    ...op.i32(KB),
    ...op.set(kn),
    ...op.end,
    ...bytes(op.get(kn)),
    ...op.set(kEnd),
    ...forLoop(j, N16, [...pack(true), ...columns(true)], step(j, 16)),
    ...unless(N16, N, [...op.get(N16), ...op.set(j), ...pack(false), ...columns(false)]),
  ];
  const perG = [
    ...zero,
    ...forLoop(kb, K, kBlock, step(kb, KB)),
    // next matrices
    ...add(a, bytes(i32Mul(M, K))),
    ...op.set(a),
    ...add(b, bytes(i32Mul(K, N))),
    ...op.set(b),
    ...add(c, bytes(i32Mul(M, N))),
    ...op.set(c),
  ];
  return {
    name,
    params: PARAMS,
    locals: [
      { count: I32_LOCALS, type: I32 },
      { count: V128_LOCALS, type: V128 },
    ],
    body: [
      ...bytes(op.get(N)),
      ...op.set(nBytes),
      ...op.get(M),
      ...op.i32(-2),
      ...op.and,
      ...op.set(M2),
      ...op.get(N),
      ...op.i32(-16),
      ...op.and,
      ...op.set(N16),
      ...op.get(N),
      ...op.get(N16),
      ...op.sub,
      ...op.set(t),
      ...forLoop(g, G, perG),
    ],
  };
}

export type Gemm = (a: number, b: number, c: number, g: number, m: number, k: number, n: number, pk: number) => void;

export interface GemmSimd {
  gemm: Gemm;
}

/** The module with relaxed SIMD's multiply-add (needs relaxed SIMD to compile) or without. */
export function gemmModuleBytes(fma: boolean): Uint8Array {
  return assemble([gemm('gemm', fma)]);
}
