/**
 * Atomic file and folder writes: write a temporary sibling, fsync it, rename it over the
 * target. A reader (or a crash) never sees a half-written file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';

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

function describeWriteError(target: string, e: unknown): ScionError {
  const err = e as NodeJS.ErrnoException;
  const why =
    err.code === 'ENOSPC'
      ? 'the disk is full'
      : err.code === 'EACCES' || err.code === 'EPERM'
        ? 'permission denied'
        : err.code === 'ENOENT'
          ? 'its folder does not exist'
          : (err.message ?? String(e));
  return new ScionError(`cannot write ${target}: ${why}`, 'E_WRITE', target);
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
    if (e instanceof ScionError) throw e;
    throw describeWriteError(target, e);
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
 * Builds a folder atomically: `build` fills a temporary sibling folder, which then
 * replaces `target` (an existing target is moved aside first and removed after).
 */
export async function atomicWriteDir(target: string, build: (tmpDir: string) => Promise<void>): Promise<void> {
  const tmp = tempSibling(target);
  await fs.mkdir(tmp, { recursive: true }).catch((e: unknown) => {
    throw describeWriteError(target, e);
  });
  try {
    await build(tmp);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  const old = tempSibling(target) + '-old';
  let movedOld = false;
  try {
    await fs.rename(target, old);
    movedOld = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw describeWriteError(target, e);
    }
  }
  try {
    await fs.rename(tmp, target);
  } catch (e) {
    if (movedOld) await fs.rename(old, target).catch(() => undefined);
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw describeWriteError(target, e);
  }
  await fsyncDir(path.dirname(target));
  if (movedOld) await fs.rm(old, { recursive: true, force: true });
}
