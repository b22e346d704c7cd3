/** Runs test/helpers/decoder_reference.py (float64 numpy, written from transformers' semantics) on a model folder. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'decoder_reference.py');

/** The reference logits [B, T, V] (flat) of `ids` [B, T] for the folder `dir`; `work` holds the exchange files. */
export function referenceLogits(python: string, dir: string, ids: Int32Array, shape: [number, number], work: string): Float32Array {
  const idsFile = path.join(work, 'ids.bin');
  const outFile = path.join(work, 'logits.bin');
  writeFileSync(idsFile, new Uint8Array(Int32Array.from([...shape, ...ids]).buffer));
  const r = spawnSync(python, [SCRIPT, dir, idsFile, outFile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`decoder_reference.py failed (${r.status}): ${r.stderr}`);
  const buf = readFileSync(outFile);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
}
