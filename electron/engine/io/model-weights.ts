/**
 * The one writer of a model folder's weights, as `transformers`' save_pretrained writes them:
 * `model.safetensors` when the tensors fit in one shard, else `model-00001-of-0000N.safetensors`
 * ... plus `model.safetensors.index.json` ({"metadata": {"total_size": bytes of tensor data},
 * "weight_map": {tensor: shard file}}). Shards are cut in tensor order: a shard is closed when
 * the next tensor would take it past the limit; a tensor larger than the limit gets a shard of
 * its own. Every file is written atomically (temp + rename), the shards before the index, so an
 * index never names a shard that is not there. Readers: io/weight-files.ts.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { atomicWriteJson } from './atomic.ts';
import { type TensorEntry, writeSafetensors } from './safetensors.ts';
import type { WriteQueueOptions } from './write-queue.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** transformers' default `max_shard_size` ("5GB" = 5 * 10^9 bytes). */
export const DEFAULT_MAX_SHARD_BYTES = 5e9;

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };

/**
 * A shard size as transformers reads it: bytes ("1000000"), or a number with a unit: KB, MB,
 * GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. "5GB", "500MB", "1.5GiB".
 */
export function parseShardSize(text: string, option = '--max-shard-size'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? (m[2] === '' ? 'B' : m[2]!.toUpperCase()) : '';
  const bytes = m && unit in UNITS ? Math.floor(Number(m[1]) * UNITS[unit]!) : NaN;
  if (!Number.isFinite(bytes) || bytes < 1)
    throw new ScionError(`${option}: expected a size like 5GB, 500MB, 2GiB or a number of bytes, got '${text}'`, 'E_USAGE');
  return bytes;
}

const entryBytes = (e: TensorEntry): number => e.shape.reduce((a, b) => a * b, 1) * 4;

/** The shard file names of `count` shards (one shard: model.safetensors). */
export function shardName(i: number, count: number): string {
  return count === 1 ? SINGLE_FILE : `model-${String(i + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;
}

/** Tensors cut into shards of at most `maxBytes` of tensor data each (a larger tensor alone). */
export function planShards(entries: TensorEntry[], maxBytes: number): TensorEntry[][] {
  const shards: TensorEntry[][] = [];
  let current: TensorEntry[] = [];
  let size = 0;
  for (const e of entries) {
    const b = entryBytes(e);
    if (current.length > 0 && size + b > maxBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += b;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

export interface WeightsWritten {
  /** The files written, in order (shards, then the index). */
  files: string[];
  /** Their sizes together (bytes on disk). */
  bytes: number;
}

export interface WriteWeightsOptions {
  metadata?: Record<string, string>;
  /** Bytes of tensor data per shard at most (default 5 GB, as transformers). */
  maxShardBytes?: number;
  /** Hears of each array once it is written (see writeSafetensors). */
  onWritten?: (values: Float32Array | Int32Array) => void;
  /** How far computing may run ahead of the disk, and how writes are cut and flushed (io/write-queue.ts). */
  queue?: WriteQueueOptions;
}

/**
 * Writes the weights of a model folder into `dir` (which exists), tensors fetched one at a time
 * through `data` in `entries` order (see writeSafetensors). Every shard carries `metadata`.
 */
export async function writeModelWeights(
  dir: string,
  entries: TensorEntry[],
  data: (name: string) => Promise<Float32Array | Int32Array> | Float32Array | Int32Array,
  opts: WriteWeightsOptions = {},
): Promise<WeightsWritten> {
  const metadata = opts.metadata ?? { format: 'pt' };
  const shards = planShards(entries, opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES);
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  for (const [i, shard] of shards.entries()) {
    const name = shardName(i, shards.length);
    await writeSafetensors(path.join(dir, name), shard, data, metadata, opts.onWritten, opts.queue);
    files.push(name);
    for (const e of shard) weightMap[e.name] = name;
  }
  if (shards.length > 1) {
    const totalSize = entries.reduce((a, e) => a + entryBytes(e), 0);
    await atomicWriteJson(path.join(dir, INDEX_FILE), { metadata: { total_size: totalSize }, weight_map: weightMap });
    files.push(INDEX_FILE);
  }
  let bytes = 0;
  for (const f of files) bytes += (await fs.stat(path.join(dir, f))).size;
  return { files, bytes };
}
