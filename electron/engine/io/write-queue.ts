/**
 * A bounded queue of positioned writes to one open file: the producer (growth, an export)
 * computes the next tensor while earlier ones go to the file on libuv's thread pool, and waits
 * only when more than `maxQueued` bytes are still unwritten. Writes go in chunks, in order, one
 * at a time; written data is flushed (fdatasync) in the background as it accumulates, so the
 * disk works while the producer computes and the final fsync has little left to do.
 */
import type { promises as fs } from 'node:fs';

export interface WriteQueueOptions {
  /** Unwritten bytes at most before `room()` waits (a single larger push is still taken whole). */
  maxQueued?: number;
  /** Bytes per write call. */
  chunk?: number;
  /** Written bytes after which a background fdatasync starts (0: never). */
  flushEvery?: number;
}

export const DEFAULT_MAX_QUEUED = 128 * 2 ** 20;
const DEFAULT_CHUNK = 8 * 2 ** 20;
const DEFAULT_FLUSH_EVERY = 64 * 2 ** 20;

export class WriteQueue {
  private readonly maxQueued: number;
  private readonly chunk: number;
  private readonly flushEvery: number;
  /** The last queued write (each waits for the one before it). */
  private tail: Promise<void> = Promise.resolve();
  private flushing: Promise<void> = Promise.resolve();
  private unwritten = 0;
  private sinceFlush = 0;
  private error: unknown;
  private failed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly handle: fs.FileHandle,
    opts: WriteQueueOptions = {},
  ) {
    this.maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.chunk = opts.chunk ?? DEFAULT_CHUNK;
    this.flushEvery = opts.flushEvery ?? DEFAULT_FLUSH_EVERY;
  }

  /** Bytes queued and not yet written. */
  get pending(): number {
    return this.unwritten;
  }

  /**
   * Queues `bytes` for the file at `position`; `written` is called once all of them are in the
   * file (the caller may then reuse the memory). `bytes` must not change until then.
   */
  push(bytes: Uint8Array, position: number, written?: () => void): void {
    this.unwritten += bytes.byteLength;
    const pieces = Math.max(1, Math.ceil(bytes.byteLength / this.chunk));
    for (let k = 0; k < pieces; k++) {
      const at = k * this.chunk;
      const piece = bytes.subarray(at, Math.min(bytes.byteLength, at + this.chunk));
      this.tail = this.tail.then(async () => {
        if (this.failed) return;
        try {
          await writeAll(this.handle, piece, position + at);
        } catch (e) {
          this.fail(e);
          return;
        }
        this.unwritten -= piece.byteLength;
        this.sinceFlush += piece.byteLength;
        if (this.flushEvery > 0 && this.sinceFlush >= this.flushEvery) this.flush();
        if (k === pieces - 1) written?.();
        this.wakeUp();
      });
    }
  }

  /** Resolves once at most `maxQueued` bytes wait to be written; throws the first write error. */
  async room(): Promise<void> {
    while (!this.failed && this.unwritten > this.maxQueued) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.failed) throw this.error;
  }

  /** Resolves once everything queued is written and the background flushes are done; throws the first error. */
  async drain(): Promise<void> {
    await this.tail;
    await this.flushing;
    if (this.failed) throw this.error;
  }

  /** Waits for every write and flush started, whatever their outcome (before the handle is closed). */
  async settle(): Promise<void> {
    await Promise.allSettled([this.tail, this.flushing]);
  }

  private flush(): void {
    this.sinceFlush = 0;
    this.flushing = this.flushing.then(async () => {
      if (this.failed) return;
      try {
        await this.handle.datasync();
      } catch (e) {
        this.fail(e);
      }
    });
  }

  private fail(e: unknown): void {
    if (!this.failed) {
      this.failed = true;
      this.error = e;
    }
    this.wakeUp();
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

/** Writes all of `bytes` at `position` (a short write is continued). */
async function writeAll(h: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let at = 0;
  while (at < bytes.byteLength) {
    const { bytesWritten } = await h.write(bytes, at, bytes.byteLength - at, position + at);
    if (bytesWritten <= 0) throw new Error(`short write (${at} of ${bytes.byteLength} bytes)`);
    at += bytesWritten;
  }
}
