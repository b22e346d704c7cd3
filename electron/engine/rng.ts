/**
 * The one seeded PRNG of the engine: mulberry32, whose whole state is one uint32 (a training run
 * saves it in a checkpoint and resumes the same sequence). Never Math.random. Two named ways to
 * seed a stream, and two normal transforms, each kept bit-identical to what earlier versions
 * drew so a seed reproduces the same model:
 *   - training: `new Rng(subSeed(seed, 'data'))`, `normal()` (one Box-Muller value per call);
 *   - growth:   `rngFor(seed, tensorName)` (FNV-1a of the name), `pairedNormal()` (both
 *     Box-Muller values, the second kept for the next call), so every tensor has its own stream
 *     and the result does not depend on the order tensors are produced in.
 */
/** mulberry32's state increment. */
const STEP = 0x6d2b79f5;

/** mulberry32's output for a state (a uint32). */
function output(state: number): number {
  let t = Math.imul(state ^ (state >>> 15), state | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

export class Rng {
  private s: number;
  /** The second value of the last Box-Muller pair (pairedNormal only). */
  private spare: number | undefined;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The state to save; `Rng.fromState(state)` continues the same sequence (of `next`, `int`, `normal`). */
  get state(): number {
    return this.s;
  }

  static fromState(state: number): Rng {
    return new Rng(state);
  }

  /** A uint32. */
  nextUint32(): number {
    this.s = (this.s + STEP) >>> 0;
    return output(this.s);
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** A standard normal (Box-Muller, one value per call: the state stays one uint32). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A standard normal (Box-Muller, both values of each pair used: growth's draws). */
  pairedNormal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = this.next();
    while (u <= 1e-300) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /**
   * out[at + k] = std * pairedNormal() for k = 0..len-1, drawn in order: the same values (and the
   * same state after) as that many calls, without a call per value or a boxed spare per pair
   * (growth draws ~10^8 of them for a 355M model).
   */
  fillPairedNormal(out: Float32Array | Float64Array, at: number, len: number, std: number): void {
    let i = at;
    const end = at + len;
    if (i < end && this.spare !== undefined) {
      out[i++] = std * this.spare;
      this.spare = undefined;
    }
    let s = this.s; // in a local: the loop below is nextUint32's steps without a field write each
    while (i < end) {
      let u: number;
      do {
        s = (s + STEP) >>> 0;
        u = output(s) / 4294967296;
      } while (u <= 1e-300);
      s = (s + STEP) >>> 0;
      const v = output(s) / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      const a = 2 * Math.PI * v;
      out[i++] = std * (r * Math.cos(a));
      if (i < end) out[i++] = std * (r * Math.sin(a));
      else this.spare = r * Math.sin(a);
    }
    this.s = s;
  }
}

/** Derives an independent seed for a named stream (e.g. 'data', 'init') from a run seed. */
export function subSeed(seed: number, stream: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193) >>> 0;
  return new Rng(h).nextUint32();
}

/** The growth stream of (seed, name): seeded with a 32-bit FNV-1a hash of the name mixed with the seed. */
export function rngFor(seed: number, stream: string): Rng {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < stream.length; i++) {
    h ^= stream.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return new Rng(h);
}
