/**
 * One Scion process at a time runs a project's jobs: the service holds `.scion-lock` in the
 * project folder and refreshes it every few seconds. Another service that opens the project
 * is refused while the lock is fresh; a lock left by a process that died goes stale within
 * `staleMs` (at once when that process was on this machine) and is taken over, so a crash
 * never locks a project for good, even after a reboot.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScionError } from '../engine/errors.ts';
import { atomicWriteJson } from '../engine/io/atomic.ts';

export const LOCK_FILE = '.scion-lock';

interface LockData {
  pid: number;
  host: string;
  token: string;
  updatedAt: number;
}

export interface ProjectLock {
  release(): Promise<void>;
}

export interface LockOptions {
  refreshMs?: number;
  staleMs?: number;
}

async function readLock(file: string): Promise<LockData | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockData;
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Not refreshed for `staleMs`, or held by a process of this machine that is gone. */
function stale(l: LockData, staleMs: number): boolean {
  if (typeof l.updatedAt !== 'number' || Date.now() - l.updatedAt >= staleMs) return true;
  return l.host === os.hostname() && typeof l.pid === 'number' && !alive(l.pid);
}

/** Takes the lock of the project in `dir`, or throws E_PROJECT_LOCKED naming who holds it. */
export async function lockProject(dir: string, opts: LockOptions = {}): Promise<ProjectLock> {
  const refreshMs = opts.refreshMs ?? 5_000;
  const staleMs = opts.staleMs ?? 20_000;
  const file = path.join(dir, LOCK_FILE);
  const held = await readLock(file);
  if (held && !stale(held, staleMs)) {
    throw new ScionError(
      `${dir}: this project is open in another Scion process (pid ${held.pid} on ${held.host}); close it there first`,
      'E_PROJECT_LOCKED',
      file,
    );
  }
  const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const write = () => atomicWriteJson(file, { pid: process.pid, host: os.hostname(), token, updatedAt: Date.now() } satisfies LockData);
  await write();
  const timer = setInterval(() => void write().catch(() => undefined), refreshMs);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      const now = await readLock(file);
      if (now?.token === token) await fs.rm(file, { force: true });
    },
  };
}
