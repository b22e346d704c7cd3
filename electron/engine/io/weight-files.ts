/**
 * A model folder's weight files (Hugging Face's "checkpoint" files; Scion keeps that word for
 * training checkpoints, train/checkpoint.ts): `model.safetensors`, or shards listed in
 * `model.safetensors.index.json` (`{"weight_map": {tensor: shard-file}}`). Tensors are read
 * one at a time from whichever shard holds them; `weightsHash` fingerprints the files.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { SafetensorsFile, type TensorInfo } from './safetensors.ts';

export interface TensorSource {
  names(): string[];
  info(name: string): TensorInfo;
  has(name: string): boolean;
  /** The file that holds `name`. */
  fileOf(name: string): string;
  readFloat32(name: string): Promise<Float32Array>;
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
  readFloat32(name: string): Promise<Float32Array> {
    return this.file(name).readFloat32(name);
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

async function hashFile(hash: ReturnType<typeof createHash>, file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = createReadStream(file);
    s.on('data', (chunk) => hash.update(chunk));
    s.on('error', reject);
    s.on('end', () => resolve());
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
  const hash = createHash('sha256');
  for (const f of files) await hashFile(hash, path.join(dir, f));
  return { sha256: hash.digest('hex'), files };
}
