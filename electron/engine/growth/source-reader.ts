/**
 * Random access to a source checkpoint's tensors by canonical name, with every name and shape
 * checked against the config up front; and a content hash of the weight files.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type CheckpointReader, openModelCheckpoint } from '../models/model.ts';

/** A source checkpoint's tensors by canonical name, every name and shape checked up front. */
export type SourceReader = CheckpointReader;
export const openSourceReader = openModelCheckpoint;

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
