/** Number formatting for the UI: parameter counts, FLOPs, durations, bytes. */

/** 1234567 -> "1.23M". */
export function compact(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const abs = Math.abs(n);
  const units: Array<[number, string]> = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [v, u] of units) if (abs >= v) return `${(n / v).toPrecision(3)}${u}`;
  return String(Math.round(n * 100) / 100);
}

/** A loss or perplexity to `digits` decimals; from 10,000 on in scientific notation (a diverged run's 5.64e+10, not 56408533553.19). */
export function fixed(n: number | undefined, digits = 4): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  return Math.abs(n) >= 1e4 ? n.toExponential(2) : n.toFixed(digits);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m ${String(r).padStart(2, '0')}s` : `${r}s`;
}

export function percent(frac: number): string {
  return `${(frac * 100).toFixed(1)}%`;
}
