/**
 * A folder used by one Scion process at a time (a project, a training run): the holder
 * creates `<dir>/.scion-lock` exclusively (a hard link of a fully written temporary file, so
 * no reader ever sees it half written; `O_EXCL` where the filesystem has no hard links) with
 * its pid, host and a token, and refreshes it every `refreshMs`. Another process is refused
 * while the lock is held. A lock is stale, and is taken over, when its process on this
 * machine is gone (or the machine rebooted since), or when a lock of another machine has not
 * been refreshed for `staleMs`. A stale lock is moved aside before it is deleted, and put back
 * when what was moved turns out to be a fresh lock, so two processes breaking it at once do
 * not both win. The lock is released on release(), and on process exit (Ctrl-C twice,
 * process.exit); a process killed with SIGKILL leaves a lock that is stale at once.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScionError, systemProblem } from '../errors.ts';
import { atomicWriteJson, tempSibling } from './atomic.ts';

export const LOCK_FILE = '.scion-lock';

/** Whether a name in a folder belongs to its lock (the lock file and its temporary siblings). */
export function isLockName(name: string): boolean {
  return name === LOCK_FILE || name.startsWith(`.${LOCK_FILE}.tmp-`);
}

export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  /** ms since epoch: when the lock was taken, and last refreshed. */
  startedAt?: number;
  updatedAt: number;
  /** ms since epoch: when the holder's machine booted (a pid from before a reboot is not alive). */
  bootedAt?: number;
}

export interface FolderLockOptions {
  /** The lock file's name in the folder (default LOCK_FILE; a project's short write lock has its own). */
  name?: string;
  refreshMs?: number;
  staleMs?: number;
  /** The error for a lock held by another live process. */
  refuse: (holder: LockHolder, file: string) => Error;
}

export interface FolderLock {
  readonly file: string;
  release(): Promise<void>;
}

/** A lock file that cannot be parsed and is younger than this is being written: wait for it. */
const UNREADABLE_GRACE_MS = 10_000;
const BOOT_TOLERANCE_MS = 120_000;

function bootedAt(): number {
  return Date.now() - os.uptime() * 1000;
}

/** Whether process `pid` of this machine is running. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the holder is gone: its process (this machine), or its refreshes (another machine). */
export function isStale(h: LockHolder, staleMs: number): boolean {
  if (h.host === os.hostname()) {
    if (!Number.isInteger(h.pid) || h.pid <= 0 || !processAlive(h.pid)) return true;
    return typeof h.bootedAt === 'number' && Math.abs(h.bootedAt - bootedAt()) > BOOT_TOLERANCE_MS;
  }
  return typeof h.updatedAt !== 'number' || Date.now() - h.updatedAt >= staleMs;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string' || typeof h.token !== 'string') return undefined;
    return { updatedAt: 0, ...h } as LockHolder;
  } catch {
    return undefined;
  }
}

type ReadResult = { kind: 'held'; holder: LockHolder } | { kind: 'gone' } | { kind: 'unreadable'; ageMs: number };

async function readHolder(file: string): Promise<ReadResult> {
  try {
    const [text, st] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
    const holder = parseHolder(text);
    return holder ? { kind: 'held', holder } : { kind: 'unreadable', ageMs: Date.now() - st.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw new ScionError(`${file}: cannot read the lock (${systemProblem(e) ?? (e as Error).message})`, 'E_LOCK', file);
  }
}

/** Creates `file` with `text` only if it does not exist; false when it does. */
async function createExclusive(file: string, text: string): Promise<boolean> {
  const tmp = tempSibling(file);
  try {
    await fs.writeFile(tmp, text, { flag: 'wx' });
    try {
      await fs.link(tmp, file);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
    }
    // no hard links here (FAT, some network filesystems): plain O_EXCL
    try {
      await fs.writeFile(file, text, { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  } catch (e) {
    if (e instanceof ScionError) throw e;
    throw new ScionError(`${file}: cannot create the lock (${systemProblem(e) ?? (e as Error).message})`, 'E_LOCK', file);
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** Removes a stale lock, unless what is there by now is somebody's fresh lock. */
async function breakStale(file: string, staleToken: string | undefined): Promise<void> {
  const aside = `${tempSibling(file)}-stale`;
  try {
    await fs.rename(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else broke it
    throw new ScionError(`${file}: cannot remove the stale lock (${systemProblem(e) ?? (e as Error).message})`, 'E_LOCK', file);
  }
  const moved = await readHolder(aside);
  const same = moved.kind === 'held' ? moved.holder.token === staleToken : staleToken === undefined;
  if (!same) await fs.link(aside, file).catch(() => undefined); // a fresh lock: put it back
  await fs.rm(aside, { force: true }).catch(() => undefined);
}

/** Locks this process holds, released when it exits without calling release(). */
const held = new Map<string, string>();
let exitHookInstalled = false;

function releaseSync(file: string, token: string): void {
  try {
    if (parseHolder(readFileSync(file, 'utf8'))?.token === token) unlinkSync(file);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [token, file] of held) releaseSync(file, token);
  });
}

/** Takes the lock of `dir` (which must exist), or throws `opts.refuse(holder)` while a live process holds it. */
export async function lockFolder(dir: string, opts: FolderLockOptions): Promise<FolderLock> {
  const refreshMs = opts.refreshMs ?? 5_000;
  const staleMs = opts.staleMs ?? 20_000;
  const file = path.join(dir, opts.name ?? LOCK_FILE);
  const token = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const startedAt = Date.now();
  const me = (): LockHolder => ({ pid: process.pid, host: os.hostname(), token, startedAt, updatedAt: Date.now(), bootedAt: bootedAt() });
  for (let attempt = 0; ; attempt++) {
    if (attempt >= 20) throw new ScionError(`${file}: could not take the lock: it is unreadable or keeps changing hands`, 'E_LOCK', file);
    if (await createExclusive(file, JSON.stringify(me(), null, 2) + '\n')) break;
    const r = await readHolder(file);
    if (r.kind === 'gone') continue;
    if (r.kind === 'held') {
      if (!isStale(r.holder, staleMs)) throw opts.refuse(r.holder, file);
      await breakStale(file, r.holder.token);
      continue;
    }
    if (r.ageMs > UNREADABLE_GRACE_MS) await breakStale(file, undefined);
    else await new Promise((res) => setTimeout(res, 100)); // being written (O_EXCL fallback): look again
  }
  held.set(token, file);
  installExitHook();
  let released = false;
  let refreshing: Promise<void> | undefined;
  const timer = setInterval(() => {
    refreshing ??= (async () => {
      const r = await readHolder(file);
      if (!released && r.kind === 'held' && r.holder.token === token) await atomicWriteJson(file, me());
    })()
      .catch(() => undefined)
      .finally(() => (refreshing = undefined));
  }, refreshMs);
  timer.unref();
  return {
    file,
    async release() {
      released = true;
      clearInterval(timer);
      await refreshing;
      held.delete(token);
      releaseSync(file, token);
    },
  };
}
