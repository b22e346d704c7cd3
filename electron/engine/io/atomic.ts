/**
 * Atomic file and folder writes: write a temporary sibling, fsync it, rename it over the
 * target. A reader (or a crash) never sees a half-written file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError, systemProblem, writeError } from '../errors.ts';
import { makeDirs } from './make-dirs.ts';

/** A unique temporary path next to `target` (same folder, so rename is atomic). */
export function tempSibling(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open folders; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}

/**
 * Writes a file atomically. `write` receives an open handle on the temporary file and
 * may write to it in pieces (for streaming large tensors).
 */
export async function atomicWrite(target: string, write: (handle: fs.FileHandle) => Promise<void>): Promise<void> {
  const tmp = tempSibling(target);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'w');
    await write(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, target);
    await fsyncDir(path.dirname(target));
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    // a failed write names the file; anything else (a bad tensor, a failed allocation) is told as it is
    if (e instanceof ScionError || systemProblem(e) === undefined) throw e;
    throw writeError(target, e);
  }
}

/** Writes a whole string or buffer atomically. */
export async function atomicWriteFile(target: string, data: string | Uint8Array): Promise<void> {
  await atomicWrite(target, async (h) => {
    await h.writeFile(data);
  });
}

/** Writes JSON (2-space indented, trailing newline) atomically. */
export async function atomicWriteJson(target: string, value: unknown): Promise<void> {
  await atomicWriteFile(target, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Builds a folder atomically: `build` fills a temporary sibling folder `.NAME.tmp-PID-HEX`, which
 * then replaces `target`: an existing target is first renamed to `.NAME.tmp-PID-HEX-old` (the same
 * PID and HEX, so the pair is recognisable), the new folder is renamed into place, and the old one
 * removed. A process killed anywhere in between leaves a state `recoverInterrupted` repairs (the
 * next write to `target`, or any command that calls it, does so first). Errors name `target`,
 * never the temporary folder.
 */
export async function atomicWriteDir(target: string, build: (tmpDir: string) => Promise<void>): Promise<void> {
  await recoverInterrupted(path.dirname(target));
  const tmp = tempSibling(target);
  await makeDirs(tmp).catch((e: unknown) => {
    throw e instanceof ScionError ? e : writeError(target, e);
  });
  try {
    await build(tmp);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw inTarget(e, tmp, target);
  }
  const old = `${tmp}-old`;
  let movedOld = false;
  try {
    await fs.rename(target, old);
    movedOld = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw writeError(target, e);
    }
  }
  try {
    await fs.rename(tmp, target);
  } catch (e) {
    if (movedOld) await fs.rename(old, target).catch(() => undefined);
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw writeError(target, e);
  }
  await fsyncDir(path.dirname(target));
  if (movedOld) await fs.rm(old, { recursive: true, force: true });
}

/** An error from building in `tmp`, retold about `target` (the user's --out, not Scion's temporary name). */
function inTarget(e: unknown, tmp: string, target: string): unknown {
  const retell = (text: string) => text.split(tmp).join(target);
  if (e instanceof ScionError) {
    if (!e.message.includes(tmp) && !e.file?.startsWith(tmp)) return e;
    return new ScionError(retell(e.message), e.code, e.file !== undefined ? retell(e.file) : target);
  }
  if (typeof (e as NodeJS.ErrnoException).code === 'string') {
    const p = (e as NodeJS.ErrnoException).path;
    return writeError(p !== undefined ? retell(p) : target, e);
  }
  return e;
}

/** Scion's temporary names: `.NAME.tmp-PID-HEX` (a write in progress) and `.NAME.tmp-PID-HEX-old` (the copy it replaces). */
const TEMP_NAME = /^\.(.+)\.tmp-(\d+)-([0-9a-f]{8})(-old)?$/;

/** Whether process `pid` is alive on this machine (a PID we may not signal is alive). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What `recoverInterrupted` did, for logs and tests. */
export interface Recovery {
  /** Folders put back under their name: an old copy restored, or a finished new one moved into place. */
  restored: string[];
  /** Temporary files and folders of dead processes removed. */
  removed: string[];
}

/**
 * Repairs what killed Scion processes left in `dir`, touching only Scion's own temporary names
 * whose process is dead: a replace killed between its two renames (no `NAME`, its old copy at
 * `.NAME.tmp-P-H-old`) is finished when the new folder `.NAME.tmp-P-H` is there (it was complete:
 * renames start only after the build) and undone (the old copy restored) otherwise; then the
 * remaining temporaries of dead processes (half-built folders, old copies already replaced,
 * half-written files) are removed. Never throws; a folder it cannot read is left alone.
 */
export async function recoverInterrupted(dir: string): Promise<Recovery> {
  const done: Recovery = { restored: [], removed: [] };
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return done;
  }
  const stale = names
    .map((name) => ({ name, m: TEMP_NAME.exec(name) }))
    .filter((x): x is { name: string; m: RegExpExecArray } => x.m !== null && !processAlive(Number(x.m[2])));
  const present = new Set(names);
  for (const { name, m } of stale) {
    const base = m[1]!;
    if (!m[4] || present.has(base)) continue;
    const fresh = name.slice(0, -'-old'.length);
    const from = present.has(fresh) ? fresh : name;
    try {
      await fs.rename(path.join(dir, from), path.join(dir, base));
      present.add(base);
      present.delete(from);
      done.restored.push(path.join(dir, base));
    } catch {
      // left for the next attempt
    }
  }
  for (const { name } of stale) {
    if (!present.has(name)) continue;
    await fs.rm(path.join(dir, name), { recursive: true, force: true }).then(
      () => done.removed.push(path.join(dir, name)),
      () => undefined,
    );
  }
  return done;
}
