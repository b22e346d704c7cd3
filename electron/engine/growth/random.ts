/**
 * Deterministic random numbers for growth: every tensor gets its own stream, seeded from the
 * user's seed and the tensor's name, so the result does not depend on the order tensors are
 * produced in (streaming, or one tensor at a time for optimizer moments).
 */

/** A 32-bit FNV-1a hash of a string, mixed with a seed. */
function hash(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal. */
  normal(): number;
}

/** mulberry32 with a Box-Muller normal; seeded by (seed, stream name). */
export function rngFor(seed: number, stream: string): Rng {
  let state = hash(seed, stream);
  let spare: number | undefined;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    int: (n) => Math.min(n - 1, Math.floor(uniform() * n)),
    normal: () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      let u = uniform();
      while (u <= 1e-300) u = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      const a = 2 * Math.PI * uniform();
      spare = r * Math.sin(a);
      return r * Math.cos(a);
    },
  };
}
