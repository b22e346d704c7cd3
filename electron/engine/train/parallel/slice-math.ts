/**
 * The all-reduce and the AdamW update of a threaded step, on one slice [lo, hi) of the flat
 * parameter layout, in plain JavaScript over shared memory: every rank runs them on its own
 * slice at the same time, so neither is serial. Float32 arithmetic as the tfjs kernels do it:
 * every operation of two float32 numbers is computed in float64 and rounded to float32
 * (Math.fround), which gives the correctly rounded float32 result for + - * / and sqrt; the
 * scalars are rounded to float32 as tfjs rounds them into scalar tensors. So the update equals
 * AdamW.apply's (adamw.ts, same operation order) for the same gradient.
 */
const f = Math.fround;

/** A run of the flat layout whose parameters all take weight decay or all do not. */
export interface DecaySegment {
  start: number;
  end: number;
  decays: boolean;
}

/** Contiguous slices of [0, size), one per rank, starting on 16-entry (64-byte) boundaries. */
export function slices(size: number, ranks: number): [number, number][] {
  const blocks = Math.ceil(size / 16);
  const out: [number, number][] = [];
  for (let r = 0; r < ranks; r++) {
    const lo = Math.min(size, 16 * Math.floor((r * blocks) / ranks));
    const hi = Math.min(size, 16 * Math.floor(((r + 1) * blocks) / ranks));
    out.push([lo, hi]);
  }
  return out;
}

/**
 * out[i] = sum_k w_k g_k[i] over [lo, hi) (the ranks' gradients in rank order, each weighted by
 * its share of the rows; float32 like tfjs's mul then add); `out` may be `grads[0]`. Returns
 * the float64 sum of squares of the result (this slice's part of the squared global norm).
 */
export function reduceSlice(out: Float32Array, grads: readonly Float32Array[], weights: readonly number[], lo: number, hi: number): number {
  const w = weights.map(f);
  if (grads.length === 2) return reduceTwo(out, grads[0]!, grads[1]!, w[0]!, w[1]!, lo, hi);
  let squares = 0;
  for (let i = lo; i < hi; i++) {
    let acc = f(grads[0]![i]! * w[0]!);
    for (let k = 1; k < grads.length; k++) acc = f(acc + f(grads[k]![i]! * w[k]!));
    out[i] = acc;
    squares += acc * acc;
  }
  return squares;
}

function reduceTwo(out: Float32Array, g0: Float32Array, g1: Float32Array, w0: number, w1: number, lo: number, hi: number): number {
  let squares = 0;
  for (let i = lo; i < hi; i++) {
    const acc = f(f(g0[i]! * w0) + f(g1[i]! * w1));
    out[i] = acc;
    squares += acc * acc;
  }
  return squares;
}

export interface AdamWSlice {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The update's number (1 for the first): bias corrections 1 - beta^t. */
  t: number;
  /** The clipping factor the gradient is multiplied by (1: none). */
  scale: number;
}

/**
 * One AdamW update of params/m/v on [lo, hi) from gradient `g` (the same operations, in the
 * same order, as AdamW.apply; multiplying by a scale of 1 or a decay factor of 1 changes no
 * float, so one loop serves every case).
 */
export function adamwSlice(
  a: AdamWSlice,
  s: { params: Float32Array; m: Float32Array; v: Float32Array; g: Float32Array },
  segments: readonly DecaySegment[],
  lo: number,
  hi: number,
): void {
  const c = adamwConstants(a);
  for (const seg of segments) adamwRun(s.params, s.m, s.v, s.g, Math.max(lo, seg.start), Math.min(hi, seg.end), c.keep(seg.decays), ...c.scalars);
}

/** An update's float32 constants (Constants' order) and a segment's decay factor (1: no decay). */
export function adamwConstants(a: AdamWSlice): { scalars: Constants; keep: (decays: boolean) => number } {
  return {
    scalars: [
      f(a.scale),
      f(a.beta1),
      f(1 - a.beta1),
      f(a.beta2),
      f(1 - a.beta2),
      f(1 - Math.pow(a.beta1, a.t)),
      f(1 - Math.pow(a.beta2, a.t)),
      f(a.eps),
      f(a.lr),
    ],
    keep: (decays) => (a.weightDecay > 0 && decays ? f(1 - a.lr * a.weightDecay) : 1),
  };
}

/** scale, beta1, 1 - beta1, beta2, 1 - beta2, the two bias corrections, eps, lr: float32 each. */
export type Constants = [number, number, number, number, number, number, number, number, number];

// prettier-ignore
function adamwRun(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, from: number, to: number, keep: number,
  scale: number, b1: number, ob1: number, b2: number, ob2: number, bc1: number, bc2: number, eps: number, lr: number): void {
  for (let i = from; i < to; i++) {
    const gi = f(g[i]! * scale);
    const m1 = f(f(m[i]! * b1) + f(gi * ob1));
    const v1 = f(f(v[i]! * b2) + f(f(gi * gi) * ob2));
    m[i] = m1;
    v[i] = v1;
    const step = f(f(m1 / bc1) / f(f(Math.sqrt(f(v1 / bc2))) + eps));
    p[i] = f(f(p[i]! * keep) - f(step * lr));
  }
}
