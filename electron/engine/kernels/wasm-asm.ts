/**
 * A minimal WebAssembly binary writer: just enough to emit small SIMD kernels at run time
 * (no toolchain, no dependency). Each function takes i32 parameters and returns nothing; the
 * module imports one memory as env.memory (the tfjs wasm backend's heap).
 */

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (for i32.const). */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const I32 = 0x7f;
export const V128 = 0x7b;
export const F32 = 0x7d;

/** The instructions the kernels use, as byte sequences. */
export const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  add: [0x6a],
  sub: [0x6b],
  mul: [0x6c],
  shl: [0x74],
  geU: [0x4f],
  leU: [0x4d],
  and: [0x71],
  xor: [0x73],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  br: (l: number) => [0x0c, ...uleb(l)],
  brIf: (l: number) => [0x0d, ...uleb(l)],
  end: [0x0b],
  f32Load: (offset = 0) => [0x2a, 0x02, ...uleb(offset)],
  f32Store: (offset = 0) => [0x38, 0x02, ...uleb(offset)],
  v128Load: (offset = 0) => [0xfd, 0x00, 0x02, ...uleb(offset)],
  v128Store: (offset = 0) => [0xfd, 0x0b, 0x02, ...uleb(offset)],
  v128Zero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  f32x4Splat: [0xfd, 0x13],
  /** i8x16.shuffle of two vectors, picking float lanes (0-3 from the first, 4-7 from the second). */
  f32x4Shuffle: (lanes: [number, number, number, number]) => [0xfd, 0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])],
  f32x4Add: [0xfd, ...uleb(0xe4)],
  f32x4Sub: [0xfd, ...uleb(0xe5)],
  f32x4Mul: [0xfd, ...uleb(0xe6)],
  f32x4Div: [0xfd, ...uleb(0xe7)],
  /** Relaxed SIMD: a b + c with one rounding or two, as the hardware does it (relaxed-simd.ts). */
  f32x4RelaxedMadd: [0xfd, ...uleb(0x105)],
  /** One float from memory into all four lanes. */
  v128Load32Splat: (offset = 0) => [0xfd, 0x09, 0x02, ...uleb(offset)],
  f32x4Sqrt: [0xfd, ...uleb(0xe3)],
  f64x2PromoteLow: [0xfd, ...uleb(0x5f)],
  f64x2Add: [0xfd, ...uleb(0xf0)],
  f64x2Mul: [0xfd, ...uleb(0xf2)],
  f64x2ExtractLane: (lane: number) => [0xfd, 0x21, lane],
  f64Add: [0xa0],
  f64Store: (offset = 0) => [0x39, 0x03, ...uleb(offset)],
  f32x4ExtractLane: (lane: number) => [0xfd, 0x1f, lane],
  f32Const: (v: number) => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f32Div: [0x95],
  f32Sqrt: [0x91],
  f32FromI32U: [0xb3],
  f32FromBits: [0xbe],
};

const bitsF32 = new Float32Array(1);
const bitsI32 = new Int32Array(bitsF32.buffer);
/** The bits of `x` rounded to a float32, as an i32 (how the kernels, whose parameters are all i32, take a float). */
export function floatBits(x: number): number {
  bitsF32[0] = x;
  return bitsI32[0]!;
}

/** The address ptr + j (both i32 locals), for a store. */
export const at = (ptr: number, j: number) => [...op.get(ptr), ...op.get(j), ...op.add];
/** A v128 load from ptr + j (both i32 locals). */
export const load = (ptr: number, j: number) => [...at(ptr, j), ...op.v128Load()];

/** `for (v = 0; v < limit; v++) body` with v and limit locals. */
export function forLoop(v: number, limit: number, body: number[], step: number[] = [...op.get(v), ...op.i32(1), ...op.add]): number[] {
  return [
    ...op.i32(0),
    ...op.set(v),
    ...op.block,
    ...op.loop,
    ...op.get(v),
    ...op.get(limit),
    ...op.geU,
    ...op.brIf(1),
    ...body,
    ...step,
    ...op.set(v),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

export interface WasmFunction {
  name: string;
  params: number; // all i32
  locals: { count: number; type: number }[];
  body: number[];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

/** The largest memory a module may import: 65536 pages of 64 KiB (4 GiB, wasm32's whole address space). */
export const MAX_PAGES = 65536;

/**
 * The module's bytes: one type per function, memory imported as env.memory (at least one page;
 * `shared`: a shared memory of at most MAX_PAGES, as WebAssembly.Memory({ shared: true }) makes).
 */
export function assemble(fns: WasmFunction[], opts: { shared?: boolean } = {}): Uint8Array {
  const types = vec(fns.map((f) => [0x60, ...uleb(f.params), ...new Array<number>(f.params).fill(I32), 0x00]));
  const limits = opts.shared ? [0x03, ...uleb(1), ...uleb(MAX_PAGES)] : [0x00, 0x01];
  const imports = vec([[...str('env'), ...str('memory'), 0x02, ...limits]]);
  const funcs = vec(fns.map((_, i) => uleb(i)));
  const exports = vec(fns.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]));
  const code = vec(
    fns.map((f) => {
      const body = [...vec(f.locals.map((l) => [...uleb(l.count), l.type])), ...f.body, ...op.end];
      return [...uleb(body.length), ...body];
    }),
  );
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, types),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, code),
  ]);
}
