/**
 * Axis maps: how one axis of a source tensor becomes the same axis of the grown tensor.
 * Every target unit either copies a source unit (`src[j] >= 0`) or is new (`src[j] = -1`);
 * when the axis is a matrix's input (fan-in) axis, copied weights are multiplied by
 * `scale[j]` (1/n for n-fold tiling, 1/copies for Net2Net) so the sum over copies is kept.
 */
import { ScionError } from '../errors.ts';

/**
 * `hidden`: the residual stream (new units stay zero after a norm); `internal`: units inside a
 * block (attention heads, MLP units); `fixed`: axes that never grow (vocabulary, positions).
 */
export type AxisKind = 'hidden' | 'internal' | 'fixed';

export interface AxisMap {
  kind: AxisKind;
  sourceSize: number;
  size: number;
  /** Source unit per target unit, -1 for a new unit. */
  src: Int32Array;
  /** Factor on copied weights when this is the input axis. */
  scale: Float32Array;
  /** 1 where the target unit is not the source's own unit at that place (a copy or a new unit). */
  added: Uint8Array;
  /** Number of whole copies, for tile maps (HyperCloning); undefined otherwise. */
  tiles?: number;
}

function make(kind: AxisKind, sourceSize: number, src: Int32Array, scale: Float32Array, tiles?: number): AxisMap {
  const added = new Uint8Array(src.length);
  for (let j = 0; j < src.length; j++) added[j] = j >= sourceSize || src[j] !== j ? 1 : 0;
  return tiles === undefined ? { kind, sourceSize, size: src.length, src, scale, added } : { kind, sourceSize, size: src.length, src, scale, added, tiles };
}

/** The axis unchanged. */
export function identityMap(size: number, kind: AxisKind = 'fixed'): AxisMap {
  return make(
    kind,
    size,
    Int32Array.from({ length: size }, (_, j) => j),
    new Float32Array(size).fill(1),
  );
}

/** n copies of the axis one after the other: unit j copies j mod d; fan-in scaled by 1/n. */
export function tileMap(d: number, n: number, kind: AxisKind): AxisMap {
  if (!Number.isInteger(n) || n < 1) throw new ScionError(`tile factor must be a positive integer, got ${n}`, 'E_GROW');
  return make(
    kind,
    d,
    Int32Array.from({ length: d * n }, (_, j) => j % d),
    new Float32Array(d * n).fill(1 / n),
    n,
  );
}

/** The source units first, then `size - d` new units. */
export function padMap(d: number, size: number, kind: AxisKind): AxisMap {
  return make(
    kind,
    d,
    Int32Array.from({ length: size }, (_, j) => (j < d ? j : -1)),
    new Float32Array(size).fill(1),
  );
}

/** Units copied by an explicit mapping (Net2Net): fan-in scaled by 1 / number of copies. */
export function unitMap(d: number, src: Int32Array, kind: AxisKind): AxisMap {
  const counts = new Int32Array(d);
  for (const s of src) if (s >= 0) counts[s]! += 1;
  const scale = new Float32Array(src.length);
  for (let j = 0; j < src.length; j++) scale[j] = src[j]! >= 0 ? 1 / counts[src[j]!]! : 1;
  return make(kind, d, src, scale);
}

/**
 * Expands a map over heads (head t copies source head `heads[t]`, or -1) to a map over their
 * `headDim` elements; `scales[t]` is the head's fan-in factor.
 */
export function headsToUnits(
  heads: Int32Array,
  sourceHeads: number,
  headDim: number,
  scales: Float32Array,
  kind: AxisKind = 'internal',
  tiles?: number,
): AxisMap {
  const src = new Int32Array(heads.length * headDim);
  const scale = new Float32Array(heads.length * headDim);
  for (let t = 0; t < heads.length; t++) {
    for (let e = 0; e < headDim; e++) {
      src[t * headDim + e] = heads[t]! >= 0 ? heads[t]! * headDim + e : -1;
      scale[t * headDim + e] = scales[t]!;
    }
  }
  return make(kind, sourceHeads * headDim, src, scale, tiles);
}

/** Maps laid side by side (GPT-2's fused [q|k|v]); source indices shifted by each part's source offset. */
export function concatMaps(parts: AxisMap[]): AxisMap {
  const size = parts.reduce((a, p) => a + p.size, 0);
  const src = new Int32Array(size);
  const scale = new Float32Array(size);
  const added = new Uint8Array(size);
  let at = 0;
  let srcOffset = 0;
  for (const p of parts) {
    for (let j = 0; j < p.size; j++) {
      src[at + j] = p.src[j]! >= 0 ? p.src[j]! + srcOffset : -1;
      scale[at + j] = p.scale[j]!;
      added[at + j] = p.added[j]!;
    }
    at += p.size;
    srcOffset += p.sourceSize;
  }
  return { kind: parts[0]!.kind, sourceSize: srcOffset, size, src, scale, added };
}
