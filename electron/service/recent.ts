/** The list of recently opened projects, in a small JSON file in the user's config folder. */
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atomicWriteJson } from '../engine/io/atomic.ts';
import { makeDirs } from '../engine/io/make-dirs.ts';

const MAX = 10;

export function defaultRecentFile(): string {
  const base = process.env['XDG_CONFIG_HOME'] ?? path.join(os.homedir(), '.config');
  return path.join(base, 'scion', 'recent-projects.json');
}

export async function readRecent(file: string): Promise<string[]> {
  try {
    const v = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && existsSync(x)) : [];
  } catch {
    return [];
  }
}

export async function addRecent(file: string, dir: string): Promise<void> {
  const list = [dir, ...(await readRecent(file)).filter((d) => d !== dir)].slice(0, MAX);
  try {
    await makeDirs(path.dirname(file));
    await atomicWriteJson(file, list);
  } catch {
    // a read-only config folder only loses the recent list
  }
}
