/**
 * model.card: what a model folder holds beyond its entry: files and their size on disk, the
 * weights' dtypes, and growth.json (method, shapes, options, the function check) when the
 * model was grown. Read-only; a folder that has gone missing is said so, not thrown.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Id, ModelCard } from '../shared/contract.ts';
import { openWeightFiles } from '../engine/io/weight-files.ts';
import type { Project } from '../store/project.ts';

export async function modelCard(project: Project, id: Id): Promise<ModelCard> {
  const m = project.get('models', id);
  if (!existsSync(m.path)) return { files: [], bytes: 0, dtypes: [], missing: true };
  const files: ModelCard['files'] = [];
  for (const name of (await fs.readdir(m.path)).sort()) {
    const st = await fs.stat(path.join(m.path, name));
    if (st.isFile()) files.push({ name, bytes: st.size });
  }
  const dtypes = new Set<string>();
  try {
    const ckpt = await openWeightFiles(m.path);
    try {
      for (const n of ckpt.names()) dtypes.add(ckpt.info(n).dtype);
    } finally {
      await ckpt.close();
    }
  } catch {
    // unreadable weights: the card shows the files, the load reports the problem
  }
  let growth: Record<string, unknown> | undefined;
  const growthFile = path.join(m.path, 'growth.json');
  if (existsSync(growthFile)) {
    try {
      growth = JSON.parse(await fs.readFile(growthFile, 'utf8')) as Record<string, unknown>;
    } catch {
      growth = { error: 'growth.json is not valid JSON' };
    }
  }
  return { files, bytes: files.reduce((a, f) => a + f.bytes, 0), dtypes: [...dtypes].sort(), ...(growth ? { growth } : {}) };
}
