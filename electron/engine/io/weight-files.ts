/**
 * A model folder's weight files (Hugging Face's "checkpoint" files; Scion keeps that word for
 * training checkpoints, train/checkpoint.ts): `model.safetensors`, or shards listed in
 * `model.safetensors.index.json` (`{"weight_map": {tensor: shard-file}}`). Tensors are read
 * one at a time from whichever shard holds them; `weightsHash` fingerprints the files.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ScionError } from '../errors.ts';
import { SafetensorsFile, type TensorInfo } from './safetensors.ts';

export interface TensorSource {
  names(): string[];
  info(name: string): TensorInfo;
  has(name: string): boolean;
  /** The file that holds `name`. */
  fileOf(name: string): string;
  /** `into`: an array to read an F32 tensor into when it has its size (see SafetensorsFile.readFloat32). */
  readFloat32(name: string, into?: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

class ShardedWeights implements TensorSource {
  constructor(
    private readonly where: Map<string, SafetensorsFile>,
    private readonly files: SafetensorsFile[],
  ) {}
  names(): string[] {
    return [...this.where.keys()];
  }
  has(name: string): boolean {
    return this.where.has(name);
  }
  private file(name: string): SafetensorsFile {
    const f = this.where.get(name);
    if (!f) throw new ScionError(`checkpoint has no tensor named '${name}'`, 'E_SAFETENSORS');
    return f;
  }
  info(name: string): TensorInfo {
    return this.file(name).info(name);
  }
  fileOf(name: string): string {
    return this.file(name).file;
  }
  readFloat32(name: string, into?: Float32Array): Promise<Float32Array> {
    return this.file(name).readFloat32(name, into);
  }
  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

/** Opens the weights of a Hugging Face model folder. */
export async function openWeightFiles(dir: string): Promise<TensorSource> {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  if (existsSync(single)) {
    const f = await SafetensorsFile.open(single);
    return new ShardedWeights(new Map(f.names().map((n) => [n, f])), [f]);
  }
  if (existsSync(index)) {
    let weightMap: Record<string, string>;
    try {
      const parsed = JSON.parse(await fs.readFile(index, 'utf8')) as { weight_map?: Record<string, unknown> };
      if (!parsed.weight_map || typeof parsed.weight_map !== 'object' || Array.isArray(parsed.weight_map)) throw new Error('it has no weight_map object');
      const bad = Object.entries(parsed.weight_map).find(([, v]) => typeof v !== 'string');
      if (bad) throw new Error(`weight_map['${bad[0]}'] is not a file name`);
      weightMap = parsed.weight_map as Record<string, string>;
    } catch (e) {
      throw new ScionError(`${index}: cannot read the shard index: ${(e as Error).message}`, 'E_SAFETENSORS', index);
    }
    const shards = new Map<string, SafetensorsFile>();
    const where = new Map<string, SafetensorsFile>();
    try {
      for (const [tensor, shard] of Object.entries(weightMap)) {
        if (shard.includes('/') || shard.includes('\\'))
          throw new ScionError(`${index}: shard name '${shard}' must be a file in the same folder`, 'E_SAFETENSORS', index);
        let f = shards.get(shard);
        if (!f) {
          if (!existsSync(path.join(dir, shard)))
            throw new ScionError(
              `${path.join(dir, shard)}: missing: ${index} says it holds '${tensor}' (a shard was not copied, or the write of the model was cut short)`,
              'E_SAFETENSORS',
              path.join(dir, shard),
            );
          f = await SafetensorsFile.open(path.join(dir, shard));
          shards.set(shard, f);
        }
        if (!f.tensors.has(tensor))
          throw new ScionError(`${path.join(dir, shard)}: the index says it holds '${tensor}', but it does not`, 'E_SAFETENSORS', path.join(dir, shard));
        where.set(tensor, f);
      }
    } catch (e) {
      await Promise.all([...shards.values()].map((f) => f.close()));
      throw e;
    }
    return new ShardedWeights(where, [...shards.values()]);
  }
  const hint = existsSync(path.join(dir, 'pytorch_model.bin'))
    ? ' (it has pytorch_model.bin: only safetensors checkpoints are supported; re-save with save_pretrained(safe_serialization=True))'
    : '';
  throw new ScionError(`${dir}: no model.safetensors or model.safetensors.index.json found${hint}`, 'E_NOT_A_MODEL', dir);
}

/**
 * sha256 of files one after the other, in a worker thread: hashing a large model (500 MB for a
 * 124M GPT-2) then runs beside the work on the main thread (growth) instead of before it.
 */
const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
(async () => {
  const hash = createHash('sha256');
  for (const file of workerData.files) for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk);
  parentPort.postMessage({ sha256: hash.digest('hex') });
})().catch((e) => parentPort.postMessage({ error: String(e && e.message ? e.message : e) }));
`;

function hashFiles(files: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(HASH_WORKER, { eval: true, workerData: { files } });
    worker.once('message', (m: { sha256?: string; error?: string }) => {
      void worker.terminate();
      if (m.sha256) resolve(m.sha256);
      else reject(new ScionError(`cannot read the weights to fingerprint them: ${m.error}`, 'E_SAFETENSORS', files[0]));
    });
    worker.once('error', reject);
  });
}

/** sha256 over the weight files in a stable order (model.safetensors, or the index then its shards). */
export async function weightsHash(dir: string): Promise<{ sha256: string; files: string[] }> {
  const single = path.join(dir, 'model.safetensors');
  const files: string[] = [];
  if (existsSync(single)) files.push('model.safetensors');
  else {
    const index = path.join(dir, 'model.safetensors.index.json');
    const parsed = JSON.parse(await fs.readFile(index, 'utf8')) as { weight_map: Record<string, string> };
    files.push('model.safetensors.index.json', ...[...new Set(Object.values(parsed.weight_map))].sort());
  }
  return { sha256: await hashFiles(files.map((f) => path.join(dir, f))), files };
}
