/**
 * Dataset specs for training and experiments: a file path, optionally followed by
 * `#FROM-TO` to use only that fraction of its tokens, e.g. `tinyshakespeare.txt#0-0.9` for
 * the first 90% and `tinyshakespeare.txt#0.9-1` for the held-out last 10%.
 */
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { loadDataset } from '../data/dataset.ts';
import type { TextTokenizer } from '../tokenizer/tokenizer.ts';

export interface DataSpec {
  file: string;
  from: number;
  to: number;
}

export function parseDataSpec(spec: string): DataSpec {
  const hash = spec.lastIndexOf('#');
  if (hash < 0) return { file: spec, from: 0, to: 1 };
  const file = spec.slice(0, hash);
  const m = /^([0-9.]+)-([0-9.]+)$/.exec(spec.slice(hash + 1));
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2]) : NaN;
  if (!file || !(from >= 0 && to <= 1 && from < to)) {
    throw new ScionError(`dataset '${spec}': after '#' give a fraction range FROM-TO with 0 <= FROM < TO <= 1, e.g. '${file || 'data.txt'}#0.9-1'`, 'E_USAGE');
  }
  return { file, from, to };
}

export function formatDataSpec(d: DataSpec): string {
  return d.from === 0 && d.to === 1 ? d.file : `${d.file}#${d.from}-${d.to}`;
}

/** The spec with its file made absolute (the fraction suffix kept), for run files. */
export function absoluteDataSpec(spec: string): string {
  return formatDataSpec({ ...parseDataSpec(spec), file: path.resolve(parseDataSpec(spec).file) });
}

/** Token ids of a dataset spec (the slice shares memory with the cached dataset). */
export async function loadTokens(spec: string, tok: TextTokenizer, vocabSize: number): Promise<Uint32Array> {
  const d = parseDataSpec(spec);
  const { ids } = await loadDataset(d.file, tok, vocabSize);
  const a = Math.floor(d.from * ids.length);
  const b = Math.floor(d.to * ids.length);
  if (b <= a)
    throw new ScionError(`${spec}: the fraction ${d.from}-${d.to} of its ${ids.length} tokens holds no token; give a wider range`, 'E_DATASET', d.file);
  return ids.subarray(a, b);
}

/**
 * `n` evaluation windows of `ctx` tokens spread evenly over `ids`, concatenated, so a quick
 * validation covers the whole file instead of its first pages. Deterministic.
 */
export function spreadWindows(ids: Uint32Array, ctx: number, n: number): Uint32Array {
  const total = Math.floor(ids.length / ctx);
  if (total <= n) return ids.subarray(0, total * ctx);
  const out = new Uint32Array(n * ctx);
  for (let i = 0; i < n; i++) {
    const w = Math.floor((i * total) / n);
    out.set(ids.subarray(w * ctx, (w + 1) * ctx), i * ctx);
  }
  return out;
}
