/**
 * Every writer of a project folder (the app or `scion serve`, and any number of CLI commands
 * run with `--project`) takes the project's short write lock around each read-modify-write of
 * its entries: read the entries as they are on disk, decide (is this folder already an
 * entry?), write, release. Two writers then never duplicate an entry or lose each other's
 * writes. The lock is `.scion-write-lock`: the engine's folder lock (io/folder-lock.ts: pid,
 * host, token, refresh, stale takeover) under its own name. It is held for the length of one
 * record (well under a second), taken over when its process is gone (this machine) or it was
 * not refreshed for `staleMs` (another machine), and a live holder is waited for up to
 * `waitMs`. Inside one process the writers queue in memory first, so the file is contended
 * only between processes.
 *
 * The long lock of lock.ts is a different thing: it says which process runs the project's
 * jobs (the open app); it does not stop a CLI from recording its work. After each change a
 * writer stamps `.scion-changes`, which the open app watches to re-read the entries.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ScionError } from '../engine/errors.ts';
import { atomicWriteJson } from '../engine/io/atomic.ts';
import { type LockHolder, lockFolder } from '../engine/io/folder-lock.ts';

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

/** What stamps `.scion-changes`: who changed the project, and when. */
export interface ChangeStamp {
  pid: number;
  host: string;
  at: string;
  /** Random: two stamps in one millisecond differ too. */
  nonce: string;
}

/** In-process queues, one per project folder. */
const queues = new Map<string, Promise<void>>();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Thrown by lockFolder's refuse while a live writer holds the lock: wait and try again. */
class Held extends Error {
  constructor(readonly holder: LockHolder) {
    super('held');
  }
}

/** Takes the write lock (the engine's folder lock under its own name), waiting up to `waitMs` for a live holder. */
async function acquire(dir: string, opts: WriteLockOptions): Promise<() => Promise<void>> {
  const waitMs = opts.waitMs ?? 60_000;
  if (!existsSync(dir)) throw new ScionError(`${dir}: the project folder does not exist`, 'E_PROJECT', dir);
  const start = Date.now();
  let delay = 10;
  for (;;) {
    try {
      const lock = await lockFolder(dir, {
        name: WRITE_LOCK_FILE,
        staleMs: opts.staleMs ?? 30_000,
        refreshMs: opts.refreshMs ?? 5_000,
        refuse: (holder) => new Held(holder),
      });
      return () => lock.release();
    } catch (e) {
      if (!(e instanceof Held)) throw e;
      if (Date.now() - start > waitMs)
        throw new ScionError(
          `${dir}: the project is busy: another Scion process (pid ${e.holder.pid} on ${e.holder.host}) has been writing to it for over ${Math.round(waitMs / 1000)} s; try again`,
          'E_PROJECT_BUSY',
          path.join(dir, WRITE_LOCK_FILE),
        );
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 200);
  }
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
  await atomicWriteJson(path.join(dir, CHANGES_FILE), {
    pid: process.pid,
    host: os.hostname(),
    at: new Date().toISOString(),
    nonce: randomBytes(8).toString('hex'),
  } satisfies ChangeStamp);
}

/** The last stamp of the project in `dir`, as written (each `stampChange` writes a new one; 'none' before the first). */
export async function readChangeStamp(dir: string): Promise<string> {
  try {
    return await fs.readFile(path.join(dir, CHANGES_FILE), 'utf8');
  } catch {
    return 'none';
  }
}
