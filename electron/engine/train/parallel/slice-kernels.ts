/**
 * The all-reduce and the AdamW update of one rank's slice, on the pool's shared memory: the
 * SIMD functions of kernels/slice-simd.ts where the memory is one WebAssembly memory (about 8x
 * faster than the loops), else slice-math.ts's JavaScript loops. Both give the same float32
 * results to the bit; the SIMD sum of squares adds in another order (float64, within ~1e-13).
 */
import { SLICE_MODULE_BYTES, type SliceSimd } from '../../kernels/slice-simd.ts';
import { instantiateOnHeap } from '../../kernels/simd-kernels.ts';
import { floatBits as bits } from '../../kernels/wasm-asm.ts';
import type { SharedBuffers } from './shared-memory.ts';
import { adamwConstants, adamwSlice, reduceSlice, type AdamWSlice, type Constants, type DecaySegment } from './slice-math.ts';

export interface SliceMath {
  /** Whether the SIMD functions run (false: the JavaScript loops). */
  readonly simd: boolean;
  /** out = sum_k weights[k] grads[k] on [lo, hi); returns the float64 sum of the squares of out there. */
  reduce(out: Float32Array, grads: readonly Float32Array[], weights: readonly number[], lo: number, hi: number): number;
  /** One AdamW update of params/m/v from g on [lo, hi). */
  adamw(
    a: AdamWSlice,
    s: { params: Float32Array; m: Float32Array; v: Float32Array; g: Float32Array },
    segments: readonly DecaySegment[],
    lo: number,
    hi: number,
  ): void;
}

export const JS_SLICE_MATH: SliceMath = { simd: false, reduce: reduceSlice, adamw: adamwSlice };

/** Off with SCION_SLICE_SIMD=0 (the bench's before/after). */
function sliceSimdOn(): boolean {
  return process.env['SCION_SLICE_SIMD'] !== '0';
}

/**
 * The slice functions for rank `rank` on `b`: SIMD where `b` is one WebAssembly memory and
 * WebAssembly SIMD runs here, else JavaScript. Arrays outside that memory take the loops too.
 */
export function sliceMath(b: SharedBuffers, rank: number): SliceMath {
  if (!b.memory || !sliceSimdOn()) return JS_SLICE_MATH;
  let k: SliceSimd;
  try {
    k = instantiateOnHeap<SliceSimd>(SLICE_MODULE_BYTES, b.memory);
  } catch {
    return JS_SLICE_MATH; // no WebAssembly SIMD (or threads) here
  }
  const buffer = b.memory.buffer;
  const sqAt = b.scratch + 64 * rank;
  const sq = new Float64Array(buffer, sqAt, 1);
  const inMemory = (xs: readonly Float32Array[]) => xs.every((x) => x.buffer === buffer);
  /** Byte address of x[i]. */
  const ptr = (x: Float32Array, i: number) => x.byteOffset + 4 * i;
  return {
    simd: true,
    reduce(out, grads, weights, lo, hi) {
      const end = lo + ((hi - lo) & ~3); // the SIMD functions take whole vectors of 4
      if (grads.length < 2 || end === lo || !inMemory([out, ...grads])) return reduceSlice(out, grads, weights, lo, hi);
      const nb = 4 * (end - lo);
      k.addScaled(ptr(out, lo), ptr(grads[0]!, lo), bits(weights[0]!), ptr(grads[1]!, lo), bits(weights[1]!), nb, sqAt);
      // the next ranks in order: out = out x 1 + g_k w_k (x 1 changes no float), as the loop adds them
      for (let r = 2; r < grads.length; r++) k.addScaled(ptr(out, lo), ptr(out, lo), bits(1), ptr(grads[r]!, lo), bits(weights[r]!), nb, sqAt);
      return sq[0]! + (end < hi ? reduceSlice(out, grads, weights, end, hi) : 0);
    },
    adamw(a, s, segments, lo, hi) {
      if (!inMemory([s.params, s.m, s.v, s.g])) return adamwSlice(a, s, segments, lo, hi);
      const c = adamwConstants(a);
      for (const seg of segments) {
        const from = Math.max(lo, seg.start);
        const to = Math.min(hi, seg.end);
        if (from >= to) continue;
        const keep = c.keep(seg.decays);
        const end = from + ((to - from) & ~3);
        if (end > from)
          k.adamw(ptr(s.params, from), ptr(s.m, from), ptr(s.v, from), ptr(s.g, from), 4 * (end - from), bits(keep), ...(c.scalars.map(bits) as Constants));
        if (end < to) adamwSlice(a, s, [{ ...seg, start: end, end: to }], end, to);
      }
    },
  };
}
