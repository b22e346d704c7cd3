/**
 * The small operations every growth method is built from, on float32 arrays in row-major
 * order: copy units of a matrix or vector by axis maps (which covers tiling with 1/a scaling,
 * repeating, padding and Net2Net copies), fill new entries with zeros or small noise, and add
 * paired symmetry-breaking noise that cancels between clone copies.
 */
import type { AxisMap } from './axis.ts';
import type { Rng } from '../rng.ts';

/** Standard deviation of new entries, by which of their two units is new (0 = zeros). */
export interface NewEntryStd {
  /** The input unit is new, the output unit is a copy. */
  inNew: number;
  /** The output unit is new, the input unit is a copy. */
  outNew: number;
  /** Both are new. */
  both: number;
}

export const ZERO_FILL: NewEntryStd = { inNew: 0, outNew: 0, both: 0 };

export interface MatrixMaps {
  rows: AxisMap;
  cols: AxisMap;
  /** Which axis is contracted with the layer's input (its copies get the fan-in scale). */
  inAxis: 'rows' | 'cols';
}

/**
 * Column runs of a matrix map: maximal spans [c0, c0 + len) that are all copies of consecutive
 * source columns from sc0 with one scale and one `added` flag (one block copy per row), or all
 * new (sc0 = -1). A zero-pad or tile map has a handful of runs, so rows are copied as slices.
 */
interface ColumnRun {
  c0: number;
  len: number;
  sc0: number;
}

function columnRuns(cols: AxisMap): ColumnRun[] {
  const runs: ColumnRun[] = [];
  for (let c = 0; c < cols.size;) {
    const sc0 = cols.src[c]!;
    let e = c + 1;
    if (sc0 < 0) while (e < cols.size && cols.src[e]! < 0) e++;
    else while (e < cols.size && cols.src[e]! === sc0 + (e - c) && cols.scale[e]! === cols.scale[c]! && cols.added[e]! === cols.added[c]!) e++;
    runs.push({ c0: c, len: e - c, sc0: sc0 < 0 ? -1 : sc0 });
    c = e;
  }
  return runs;
}

/**
 * Grows a [rows, cols] matrix: entry (r, c) copies source (rows.src[r], cols.src[c]) times the
 * input axis's scale, or is drawn from `fill` when either unit is new. With `next` (bert2BERT
 * AKI), entries whose output unit was added read the next layer's matrix instead. Works on
 * column runs (row slices copied whole); new entries are drawn in row-major order, as one
 * entry-by-entry loop would, so a seed gives the same values. `into` (of the output's size) is
 * filled instead of a new array: a caller streaming many tensors reuses its buffers.
 */
export function mapMatrix(w: Float32Array, maps: MatrixMaps, fill: NewEntryStd = ZERO_FILL, rng?: Rng, next?: Float32Array, into?: Float32Array): Float32Array {
  const { rows, cols, inAxis } = maps;
  const srcCols = cols.sourceSize;
  const size = rows.size * cols.size;
  if (into !== undefined && into.length !== size) throw new Error(`mapMatrix: the output array has ${into.length} values, not ${size}`);
  // [R', C']: every entry is written (a reused array may hold anything)
  const out = into ?? new Float32Array(size);
  const runs = columnRuns(cols);
  const draw = (at: number, len: number, std: number): void => {
    if (!(std > 0 && rng)) out.fill(0, at, at + len);
    else rng.fillPairedNormal(out, at, len, std);
  };
  for (let r = 0; r < rows.size; r++) {
    const sr = rows.src[r]!;
    const base = r * cols.size;
    for (const { c0, len, sc0 } of runs) {
      if (sr < 0 || sc0 < 0) {
        const inNew = inAxis === 'rows' ? sr < 0 : sc0 < 0;
        const outNew = inAxis === 'rows' ? sc0 < 0 : sr < 0;
        draw(base + c0, len, inNew && outNew ? fill.both : inNew ? fill.inNew : fill.outNew);
        continue;
      }
      const scale = inAxis === 'rows' ? rows.scale[r]! : cols.scale[c0]!;
      const fromNext = next !== undefined && (inAxis === 'rows' ? cols.added[c0] : rows.added[r]) === 1;
      const from = fromNext ? next : w;
      const s = sr * srcCols + sc0;
      if (scale === 1) out.set(from.subarray(s, s + len), base + c0);
      else for (let k = 0; k < len; k++) out[base + c0 + k] = from[s + k]! * scale;
    }
  }
  return out;
}

/** Grows a vector (bias or norm gain): copies by the map; new entries `newValue` plus N(0, std). */
export function mapVector(v: Float32Array, map: AxisMap, newValue = 0, std = 0, rng?: Rng, next?: Float32Array): Float32Array {
  const out = new Float32Array(map.size);
  for (let j = 0; j < map.size; j++) {
    const s = map.src[j]!;
    if (s >= 0) out[j] = (next !== undefined && map.added[j] === 1 ? next : v)[s]!;
    else out[j] = newValue + (std > 0 && rng ? std * rng.pairedNormal() : 0);
  }
  return out;
}

/** Root mean square of the values (the signal level for an SNR). */
export function rms(w: Float32Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i]! * w[i]!;
  return w.length > 0 ? Math.sqrt(s / w.length) : 0;
}

/**
 * HyperCloning's symmetry-breaking noise on a matrix whose input axis is an n-fold tile map:
 * for each pair of input copies (2p, 2p+1), the same N(0, std) draw is added to one copy and
 * subtracted from the other, so x·(W + N) + x·(W - N) = 2 x·W for cloned inputs x: the function
 * is kept while the copies start to differ. With odd n the last copy gets none. In place.
 */
export function addPairedNoise(w: Float32Array, maps: MatrixMaps, std: number, rng: Rng): Float32Array {
  const inMap = maps.inAxis === 'rows' ? maps.rows : maps.cols;
  const outSize = maps.inAxis === 'rows' ? maps.cols.size : maps.rows.size;
  const n = inMap.tiles ?? 1;
  const d = inMap.sourceSize;
  const cols = maps.cols.size;
  const at = (i: number, o: number): number => (maps.inAxis === 'rows' ? i * cols + o : o * cols + i);
  const noise = new Float64Array(outSize); // one input unit's draws, as doubles (added to float32 entries as each draw was)
  for (let p = 0; p + 1 < n; p += 2) {
    for (let i = 0; i < d; i++) {
      const a = p * d + i;
      const b = (p + 1) * d + i;
      rng.fillPairedNormal(noise, 0, outSize, std);
      for (let o = 0; o < outSize; o++) {
        w[at(a, o)]! += noise[o]!;
        w[at(b, o)]! -= noise[o]!;
      }
    }
  }
  return w;
}
