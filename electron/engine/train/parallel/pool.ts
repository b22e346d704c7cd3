/**
 * Data parallelism on the CPU: the training process (rank 0) and `threads - 1` compute
 * threads (thread.ts), each with its own tfjs engine on the same backend. Shared memory:
 *   params  Float32 [P]            the parameters in the optimizer's flat layout, written by
 *                                  rank 0 (`writeParams`) and read by every thread
 *   grad r  Float32 [P] per thread that thread's mean gradient over its rows
 * Messages carry only token ids and a few numbers (protocol.ts). Each step is then one
 * reduction of the gradients (parallel/step.ts) and one optimizer update in rank 0.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ScionError } from '../../errors.ts';
import type { ModelConfig } from '../../models/config.ts';
import type { Params } from '../../models/params.ts';
import type { FromThread, Rows, SentTensor, ToThread } from './protocol.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The thread's entry: the bundled app's `train-thread.js` beside its bundle, else the TypeScript source through tsx. */
function threadEntry(): string {
  const bundled = path.join(here, 'train-thread.js');
  return existsSync(bundled) ? bundled : path.join(here, 'thread-boot.mjs');
}

interface Pending {
  resolve: (m: Extract<FromThread, { type: 'done' }>) => void;
  reject: (e: Error) => void;
}

class ComputeThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  readonly grad: Float32Array;

  constructor(
    private readonly worker: Worker,
    gradBuffer: SharedArrayBuffer,
    ready: { resolve: () => void; reject: (e: Error) => void },
  ) {
    this.grad = new Float32Array(gradBuffer);
    worker.unref(); // a crashed training process must not hang on its threads
    worker.on('message', (m: FromThread) => {
      if (m.type === 'ready') ready.resolve();
      else if (m.type === 'done') this.settle(m.id, (p) => p.resolve(m));
      else {
        const e = new ScionError(`a compute thread failed: ${m.message}`, 'E_THREAD');
        if (m.id === undefined) ready.reject(e);
        else this.settle(m.id, (p) => p.reject(e));
      }
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      ready.reject(e);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', (e) => fail(new ScionError(`a compute thread failed: ${e.message}`, 'E_THREAD')));
    worker.on('exit', (code) => fail(new ScionError(`a compute thread exited (code ${code})`, 'E_THREAD')));
  }

  private settle(id: number, f: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    f(p);
  }

  /** Sends a job (its id is filled in) and resolves with the thread's answer. */
  run(job: Omit<Extract<ToThread, { type: 'grad' | 'eval' }>, 'id'>): Promise<Extract<FromThread, { type: 'done' }>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...job, id } as ToThread);
    });
  }

  terminate(): Promise<number> {
    this.failure ??= new ScionError('the compute threads were closed', 'E_THREAD');
    return this.worker.terminate();
  }
}

export interface PoolOptions {
  /** Total threads, the training process included (>= 2). */
  threads: number;
  backend: string;
  config: ModelConfig;
  /** Parameter names and shapes in the flat layout's order. */
  layout: { name: string; shape: number[] }[];
}

export class ThreadPool {
  private version = 0;
  readonly names: string[];

  private constructor(
    readonly threads: ComputeThread[],
    readonly params: Float32Array,
    readonly layout: { name: string; shape: number[] }[],
  ) {
    this.names = layout.map((l) => l.name);
  }

  /** All ranks: the training process plus the compute threads. */
  get size(): number {
    return this.threads.length + 1;
  }

  /** Starts `threads - 1` compute threads and waits until each has its backend up. */
  static async start(o: PoolOptions): Promise<ThreadPool> {
    const total = o.layout.reduce((a, l) => a + l.shape.reduce((x, y) => x * y, 1), 0);
    const bytes = total * Float32Array.BYTES_PER_ELEMENT;
    const params = new SharedArrayBuffer(bytes);
    const threads: ComputeThread[] = [];
    const readies: Promise<void>[] = [];
    for (let r = 1; r < o.threads; r++) {
      const grad = new SharedArrayBuffer(bytes);
      const worker = new Worker(threadEntry(), { execArgv: [], stderr: false });
      let ready!: { resolve: () => void; reject: (e: Error) => void };
      readies.push(new Promise<void>((resolve, reject) => (ready = { resolve, reject })));
      threads.push(new ComputeThread(worker, grad, ready));
      worker.postMessage({ type: 'init', backend: o.backend, config: o.config, layout: o.layout, params, grad } satisfies ToThread);
    }
    const pool = new ThreadPool(threads, new Float32Array(params), o.layout);
    try {
      await Promise.all(readies);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Publishes `params` (by name, in the pool's layout) to the threads; returns the new version. */
  async writeParams(params: Params): Promise<number> {
    let at = 0;
    for (const { name, shape } of this.layout) {
      const t = params[name];
      if (!t) throw new Error(`thread pool: no parameter '${name}'`);
      const size = shape.reduce((a, b) => a * b, 1);
      if (t.size !== size) throw new Error(`thread pool: parameter '${name}' has ${t.size} entries, the pool's layout ${size}`);
      this.params.set((await t.data()) as Float32Array, at);
      at += size;
    }
    return ++this.version;
  }

  /** Rank r's (r >= 1) gradient job. */
  gradient(rank: number, chunks: Rows[], multipliers?: Record<string, SentTensor>, recompute = false) {
    return this.threads[rank - 1]!.run({
      type: 'grad',
      version: this.version,
      chunks,
      ...(recompute ? { recompute } : {}),
      ...(multipliers ? { multipliers } : {}),
    });
  }

  /** Rank r's (r >= 1) evaluation job. */
  evaluate(rank: number, chunks: Rows[]) {
    return this.threads[rank - 1]!.run({ type: 'eval', version: this.version, chunks });
  }

  /** Rank r's (r >= 1) gradient buffer. */
  gradientOf(rank: number): Float32Array {
    return this.threads[rank - 1]!.grad;
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

/** Splits `n` items into `parts` contiguous ranges whose sizes differ by at most one: [start, end) per part. */
export function splitEvenly(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < parts; r++) out.push([Math.floor((r * n) / parts), Math.floor(((r + 1) * n) / parts)]);
  return out;
}
