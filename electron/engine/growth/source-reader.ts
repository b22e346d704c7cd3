/**
 * Random access to a source checkpoint's tensors by canonical name, with every name and shape
 * checked against the config up front; and a content hash of the weight files.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { openCheckpoint } from '../io/checkpoint.ts';
import type { ModelConfig } from '../models/config.ts';
import { canonicalName, ignoredTensor, tensorSpecs } from '../models/family.ts';

export interface SourceReader {
  get(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

export async function openSourceReader(dir: string, config: ModelConfig): Promise<SourceReader> {
  const ckpt = await openCheckpoint(dir);
  try {
    const stored = new Map<string, string>();
    for (const n of ckpt.names()) if (!ignoredTensor(config, n)) stored.set(canonicalName(config, n), n);
    const specs = tensorSpecs(config);
    const wanted = new Set(specs.map((s) => s.name));
    for (const [c, n] of stored) {
      if (!wanted.has(c))
        throw new ScionError(
          `${dir}: checkpoint tensor '${n}' is not part of a ${config.family} model with this config.json (unsupported tensor)`,
          'E_CHECKPOINT',
          dir,
        );
    }
    for (const spec of specs) {
      const n = stored.get(spec.name);
      if (!n) throw new ScionError(`${dir}: checkpoint has no tensor '${spec.name}' (config.json says the model needs it)`, 'E_CHECKPOINT', dir);
      const shape = ckpt.info(n).shape;
      if (shape.join(',') !== spec.shape.join(',')) {
        throw new ScionError(`${dir}: tensor '${n}' has shape [${shape.join(', ')}], but config.json implies [${spec.shape.join(', ')}]`, 'E_CHECKPOINT', dir);
      }
    }
    return {
      get: (name) => {
        const n = stored.get(name);
        if (!n) throw new ScionError(`${dir}: no source tensor '${name}'`, 'E_CHECKPOINT', dir);
        return ckpt.readFloat32(n);
      },
      close: () => ckpt.close(),
    };
  } catch (e) {
    await ckpt.close();
    throw e;
  }
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
