/**
 * Dataset entries: a UTF-8 text file or a `.bin` file of uint16 token ids, copied into
 * datasets/<id>/ or referenced where it is. Adding one checks the file (exists, not empty,
 * text that is text) and keeps a short sample for the UI.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DatasetEntry } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { parseDataSpec } from '../engine/train/data.ts';
import { isInside } from './layout.ts';
import type { Project } from './project.ts';

const SAMPLE_BYTES = 4096;
const SAMPLE_CHARS = 400;

export interface DatasetFileInfo {
  kind: 'text' | 'bin';
  bytes: number;
  sample: string;
}

/** Checks a dataset file and reads its sample. */
export async function inspectDatasetFile(file: string): Promise<DatasetFileInfo> {
  let st;
  try {
    st = await fs.stat(file);
  } catch {
    throw new ScionError(`${file}: dataset file not found`, 'E_DATASET', file);
  }
  if (!st.isFile()) throw new ScionError(`${file}: not a file (a dataset is a text file or a .bin file of uint16 token ids)`, 'E_DATASET', file);
  if (st.size === 0) throw new ScionError(`${file}: the file is empty`, 'E_DATASET', file);
  const handle = await fs.open(file, 'r');
  const head = Buffer.alloc(Math.min(SAMPLE_BYTES, st.size));
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  if (file.endsWith('.bin')) {
    if (st.size % 2 !== 0) throw new ScionError(`${file}: a .bin dataset holds uint16 token ids, but its size (${st.size} bytes) is odd`, 'E_DATASET', file);
    const ids: number[] = [];
    for (let i = 0; i + 1 < head.length && ids.length < 32; i += 2) ids.push(head.readUInt16LE(i));
    return { kind: 'bin', bytes: st.size, sample: `token ids: ${ids.join(' ')}${st.size > 64 ? ' ...' : ''}` };
  }
  if (head.includes(0)) throw new ScionError(`${file}: this is not a text file (it contains NUL bytes); token datasets must end in .bin`, 'E_DATASET', file);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head);
  const bad = (text.match(/\uFFFD/g) ?? []).length;
  if (bad > 8 && bad > text.length / 50)
    throw new ScionError(`${file}: this is not UTF-8 text (${bad} undecodable bytes in its first ${head.length})`, 'E_DATASET', file);
  return { kind: 'text', bytes: st.size, sample: text.slice(0, SAMPLE_CHARS) };
}

export interface AddDatasetRequest {
  path: string;
  name: string;
  copy: boolean;
}

/** What jobs read: the file, with its `#FROM-TO` fraction when the dataset is a split of it. */
export function datasetSpec(d: DatasetEntry): string {
  return d.split ? `${d.path}#${d.split.from}-${d.split.to}` : d.path;
}

/** Adds a file, or a fraction of its tokens (`file.txt#0.9-1`). */
export async function addDataset(project: Project, req: AddDatasetRequest): Promise<DatasetEntry> {
  // a file whose name has a '#' is that file; otherwise '#FROM-TO' names a fraction
  const spec = existsSync(req.path) ? { file: req.path, from: 0, to: 1 } : parseDataSpec(req.path);
  const split = spec.from === 0 && spec.to === 1 ? undefined : { from: spec.from, to: spec.to };
  const src = path.resolve(spec.file);
  if (isInside(project.dir, src)) throw new ScionError(`${src}: is inside the project folder already; add datasets from outside it`, 'E_INVALID', src);
  const info = await inspectDatasetFile(src);
  const id = project.newId(req.name);
  return project.create('datasets', id, async (tmp) => {
    const base = path.basename(src);
    const copied = path.join(tmp, base.startsWith('.') || base === 'entry.json' ? `data${path.extname(src)}` : base);
    if (req.copy) await fs.copyFile(src, copied);
    return {
      id,
      name: req.name,
      path: req.copy ? copied : src,
      referenced: !req.copy,
      kind: info.kind,
      ...(split ? { split } : {}),
      bytes: info.bytes,
      sample: info.sample,
      createdAt: new Date().toISOString(),
    };
  });
}
