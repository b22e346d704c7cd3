/**
 * Every writer of a project folder (the app or `scion serve`, and any number of CLI commands
 * run with `--project`) takes the project's short write lock around each read-modify-write of
 * its entries: read the entries as they are on disk, decide (is this folder already an
 * entry?), write, release. Two writers then never duplicate an entry or lose each other's
 * writes. The lock is `.scion-write-lock`, created with O_EXCL; it is held for the length of
 * one record (well under a second), refreshed while held, and taken over when its process is
 * gone (same machine) or it was not refreshed for `staleMs`. Inside one process the writers
 * queue in memory first, so the file is contended only between processes.
 *
 * The long lock of lock.ts is a different thing: it says which process runs the project's
 * jobs (the open app); it does not stop a CLI from recording its work. After each change a
 * writer stamps `.scion-changes`, which the open app watches to re-read the entries.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScionError } from '../engine/errors.ts';
import { atomicWriteJson } from '../engine/io/atomic.ts';
import { alive } from './lock.ts';

export const WRITE_LOCK_FILE = '.scion-write-lock';
export const CHANGES_FILE = '.scion-changes';

export interface WriteLockOptions {
  /** How long to wait for another writer before giving up (default 60 s). */
  waitMs?: number;
  /** A lock not refreshed for this long is abandoned (default 30 s). */
  staleMs?: number;
  /** How often a holder refreshes it (default 5 s). */
  refreshMs?: number;
}

interface Holder {
  pid?: number;
  host?: string;
  token?: string;
  /** Last refresh (the file's mtime). */
  mtimeMs: number;
}

/** What stamps `.scion-changes`: who changed the project, and when. */
export interface ChangeStamp {
  pid: number;
  host: string;
  at: string;
}

/** In-process queues, one per project folder. */
const queues = new Map<string, Promise<void>>();

async function readHolder(file: string): Promise<Holder | undefined> {
  let mtimeMs: number;
  let text: string;
  try {
    mtimeMs = (await fs.stat(file)).mtimeMs;
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined; // released meanwhile
  }
  try {
    return { ...(JSON.parse(text) as Omit<Holder, 'mtimeMs'>), mtimeMs };
  } catch {
    return { mtimeMs }; // being written this very moment
  }
}

function isStale(h: Holder, staleMs: number): boolean {
  if (Date.now() - h.mtimeMs >= staleMs) return true;
  return h.host === os.hostname() && typeof h.pid === 'number' && h.pid !== process.pid && !alive(h.pid);
}

/** Removes an abandoned lock, unless someone replaced it since it was judged abandoned. */
async function breakStale(file: string, judged: Holder): Promise<void> {
  const aside = `${file}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(file, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = await readHolder(aside);
  if (moved && moved.token !== judged.token) await fs.link(aside, file).catch(() => undefined); // a fresh lock: put it back
  await fs.rm(aside, { force: true });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function acquire(dir: string, opts: WriteLockOptions): Promise<() => Promise<void>> {
  const waitMs = opts.waitMs ?? 60_000;
  const staleMs = opts.staleMs ?? 30_000;
  const file = path.join(dir, WRITE_LOCK_FILE);
  const token = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const start = Date.now();
  let delay = 10;
  for (;;) {
    try {
      const h = await fs.open(file, 'wx');
      try {
        await h.writeFile(JSON.stringify({ pid: process.pid, host: os.hostname(), token }));
      } finally {
        await h.close();
      }
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new ScionError(`${dir}: the project folder does not exist`, 'E_PROJECT', dir);
      if (code !== 'EEXIST') throw new ScionError(`cannot lock ${dir} for writing: ${(e as Error).message}`, 'E_WRITE', file);
    }
    const held = await readHolder(file);
    if (held && isStale(held, staleMs)) {
      await breakStale(file, held);
      continue;
    }
    if (Date.now() - start > waitMs) {
      const who = held?.pid !== undefined ? `pid ${held.pid} on ${held.host ?? '?'}` : 'another process';
      throw new ScionError(
        `${dir}: the project is busy: another Scion process (${who}) has been writing to it for over ${Math.round(waitMs / 1000)} s; try again`,
        'E_PROJECT_BUSY',
        file,
      );
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 200);
  }
  const timer = setInterval(() => {
    const now = new Date();
    void fs.utimes(file, now, now).catch(() => undefined);
  }, opts.refreshMs ?? 5_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    const now = await readHolder(file);
    if (now?.token === token) await fs.rm(file, { force: true });
  };
}

/** Runs `fn` holding the write lock of the project folder `dir` (which must exist). */
export async function withWriteLock<T>(dir: string, fn: () => Promise<T>, opts: WriteLockOptions = {}): Promise<T> {
  const abs = path.resolve(dir);
  const before = queues.get(abs) ?? Promise.resolve();
  let done!: () => void;
  const gate = new Promise<void>((r) => (done = r));
  const mine = before.then(() => gate);
  queues.set(abs, mine);
  await before;
  try {
    const release = await acquire(abs, opts);
    try {
      return await fn();
    } finally {
      await release();
    }
  } finally {
    done();
    if (queues.get(abs) === mine) queues.delete(abs);
  }
}

/** Tells watchers (the open app) that the entries of the project in `dir` changed. */
export async function stampChange(dir: string): Promise<void> {
  await atomicWriteJson(path.join(dir, CHANGES_FILE), { pid: process.pid, host: os.hostname(), at: new Date().toISOString() } satisfies ChangeStamp);
}
