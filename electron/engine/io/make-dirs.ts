/**
 * `mkdir -p` that always settles. Node's own `fs.mkdir(dir, { recursive: true })` never
 * returns where a folder's parent exists but cannot hold children (anything under /proc, a
 * dangling link): it retries ENOENT forever on a libuv thread. This walks up to the nearest
 * existing folder and creates each missing level once, so every failure is an error that
 * names the folder.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError, systemProblem } from '../errors.ts';

/** Virtual file systems of the kernel: nothing a user writes can live there. */
const SYSTEM_ROOTS = ['/proc', '/sys', '/dev'];

/** The kernel's virtual folder `p` is in (/proc, /sys, /dev), or undefined (never on Windows). */
export function systemFolderOf(p: string): string | undefined {
  if (process.platform === 'win32') return undefined;
  const abs = path.resolve(p);
  return SYSTEM_ROOTS.find((r) => abs === r || abs.startsWith(r + '/'));
}

async function isFolder(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

function cannotCreate(dir: string, e: NodeJS.ErrnoException): ScionError {
  const parent = path.dirname(dir);
  const why =
    e.code === 'ENOENT'
      ? `${parent} does not accept new folders (a system folder such as /proc, or a broken link)`
      : e.code === 'EEXIST' || e.code === 'ENOTDIR'
        ? 'a file (not a folder) is in the way'
        : (systemProblem(e) ?? e.message);
  return new ScionError(`cannot create the folder ${dir}: ${why}`, 'E_WRITE', dir);
}

/** Creates `dir` and any missing parents; resolves when it is a folder, or throws a ScionError naming it. */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let cur = path.resolve(dir); ; cur = path.dirname(cur)) {
    if (await isFolder(cur)) break;
    missing.push(cur);
    if (path.dirname(cur) === cur) break;
  }
  for (const d of missing.reverse()) {
    try {
      await fs.mkdir(d);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST' && (await isFolder(d))) continue; // made by someone else meanwhile
      throw cannotCreate(d, err);
    }
  }
}
