/** Reproducible test inputs: a linear congruential generator of float32 arrays, uniform in [lo, hi). */
export function seededRandom(seed: number): (n: number, lo?: number, hi?: number) => Float32Array {
  let s = seed;
  return (n, lo = -1, hi = 1) => {
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      d[i] = lo + (s / 4294967296) * (hi - lo);
    }
    return d;
  };
}
