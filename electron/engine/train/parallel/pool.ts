/**
 * Data parallelism on the CPU: the training process (rank 0) and `threads - 1` compute
 * threads (thread.ts), each with its own tfjs engine on the same backend. Shared memory
 * (shared-memory.ts; Float32 [P] each, the parameters back to back in `layout` order):
 *   params     the parameters, read by every rank before its gradient
 *   m, v       AdamW's moments while the optimizer has lent them to the pool (shared-state.ts)
 *   grad r     rank r's mean gradient over its rows; the all-reduce sums them into grad 0
 * Messages carry only token ids and a few numbers (protocol.ts). A step (parallel/step.ts) is
 * three rounds, every rank working in each: gradients of its rows, the all-reduce of its slice
 * of the layout, the AdamW update of that slice.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ScionError } from '../../errors.ts';
import type { ModelConfig } from '../../models/config.ts';
import type { Params } from '../../models/params.ts';
import { decays } from '../adamw.ts';
import { copyAllOut } from './heap.ts';
import type { PhaseTimes } from './phases.ts';
import type { FromThread, Job, Rows, SentTensor, ToThread } from './protocol.ts';
import { allocateShared, sharedViews, type SharedBuffers, type SharedViews } from './shared-memory.ts';
import { sliceMath, type SliceMath } from './slice-kernels.ts';
import { slices, type AdamWSlice, type DecaySegment } from './slice-math.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The thread's entry: the bundled app's `train-thread.js` beside its bundle, else the TypeScript source through tsx. */
function threadEntry(): string {
  const bundled = path.join(here, 'train-thread.js');
  return existsSync(bundled) ? bundled : path.join(here, 'thread-boot.mjs');
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Pending {
  resolve: (m: Extract<FromThread, { type: 'done' }>) => void;
  reject: (e: Error) => void;
}

class ComputeThread {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor(
    private readonly worker: Worker,
    ready: { resolve: () => void; reject: (e: Error) => void },
  ) {
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
  run(job: DistributiveOmit<Job, 'id'>): Promise<Extract<FromThread, { type: 'done' }>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const p = new Promise<Extract<FromThread, { type: 'done' }>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...job, id } as ToThread);
    });
    p.catch(() => undefined); // awaited by the caller; an early failure must not go unhandled meanwhile
    return p;
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
  /** Record phase times (phases.ts) of every rank in `lastPhases` (the bench). */
  profile?: boolean;
}

export class ThreadPool {
  /** Bumped whenever the shared parameters change; a thread reloads its replica when it sees a new one. */
  version = 0;
  readonly names: string[];
  readonly layout: { name: string; shape: number[]; size: number }[];
  /** The flat layout's entries P. */
  readonly entries: number;
  readonly shared: SharedViews;
  /** Rank 0's all-reduce and update functions on the shared memory (SIMD where it can). */
  readonly math: SliceMath;
  /** Runs of the layout that take weight decay or not (AdamW's rule, adamw.ts's `decays`). */
  readonly segments: DecaySegment[];
  /** Each rank's slice of the layout for the all-reduce and the update. */
  readonly slices: [number, number][];
  /** The phase times of every rank in the last step, when started with `profile`. */
  lastPhases: PhaseTimes[] = [];

  private constructor(
    readonly threads: ComputeThread[],
    buffers: SharedBuffers,
    layout: { name: string; shape: number[] }[],
    readonly profile: boolean,
  ) {
    this.names = layout.map((l) => l.name);
    this.layout = layout.map((l) => ({ ...l, size: l.shape.reduce((a, b) => a * b, 1) }));
    this.entries = this.layout.reduce((a, l) => a + l.size, 0);
    this.shared = sharedViews(buffers);
    this.math = sliceMath(buffers, 0);
    this.segments = decaySegments(this.layout);
    this.slices = slices(this.entries, threads.length + 1);
  }

  /** All ranks: the training process plus the compute threads. */
  get size(): number {
    return this.threads.length + 1;
  }

  /** Starts `threads - 1` compute threads and waits until each has its backend up. */
  static async start(o: PoolOptions): Promise<ThreadPool> {
    const total = o.layout.reduce((a, l) => a + l.shape.reduce((x, y) => x * y, 1), 0);
    const buffers = allocateShared(total, o.threads);
    const threads: ComputeThread[] = [];
    const readies: Promise<void>[] = [];
    const profile = o.profile === true;
    const segments = decaySegments(o.layout.map((l) => ({ ...l, size: l.shape.reduce((a, b) => a * b, 1) })));
    for (let r = 1; r < o.threads; r++) {
      const worker = new Worker(threadEntry(), { execArgv: [], stderr: false });
      let ready!: { resolve: () => void; reject: (e: Error) => void };
      readies.push(new Promise<void>((resolve, reject) => (ready = { resolve, reject })));
      threads.push(new ComputeThread(worker, ready));
      worker.postMessage({ type: 'init', rank: r, backend: o.backend, config: o.config, layout: o.layout, segments, buffers, profile } satisfies ToThread);
    }
    const pool = new ThreadPool(threads, buffers, o.layout, profile);
    try {
      await Promise.all(readies);
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  /** Publishes `params` (by name, in the pool's layout) to the threads; returns the new version. */
  writeParams(params: Params): number {
    copyAllOut(this.layout, params, this.shared.params, 'parameter');
    return ++this.version;
  }

  /** Rank r's (r >= 1) gradient job. */
  gradient(rank: number, chunks: Rows[], multipliers?: Record<string, SentTensor>, recompute = false) {
    return this.thread(rank).run({ type: 'grad', version: this.version, chunks, ...(recompute ? { recompute } : {}), ...(multipliers ? { multipliers } : {}) });
  }

  /** Rank r's (r >= 1) slice of the all-reduce (and of the update, with `update`). */
  reduce(rank: number, weights: number[], update?: AdamWSlice) {
    return this.thread(rank).run({ type: 'reduce', weights, ...(update ? { update } : {}) });
  }

  /** Rank r's (r >= 1) slice of the AdamW update. */
  update(rank: number, update: AdamWSlice) {
    return this.thread(rank).run({ type: 'update', update });
  }

  /** Rank r's (r >= 1) evaluation job. */
  evaluate(rank: number, chunks: Rows[]) {
    return this.thread(rank).run({ type: 'eval', version: this.version, chunks });
  }

  private thread(rank: number): ComputeThread {
    const t = this.threads[rank - 1];
    if (!t) throw new Error(`thread pool: no rank ${rank}`);
    return t;
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

/** The layout's runs of parameters that take weight decay or not. */
function decaySegments(layout: readonly { name: string; shape: number[]; size: number }[]): DecaySegment[] {
  const out: DecaySegment[] = [];
  let at = 0;
  for (const l of layout) {
    const d = decays(l.name, l.shape);
    const last = out[out.length - 1];
    if (last && last.decays === d && last.end === at) last.end = at + l.size;
    else out.push({ start: at, end: at + l.size, decays: d });
    at += l.size;
  }
  return out;
}

/** Splits `n` items into `parts` contiguous ranges whose sizes differ by at most one: [start, end) per part. */
export function splitEvenly(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < parts; r++) out.push([Math.floor((r * n) / parts), Math.floor(((r + 1) * n) / parts)]);
  return out;
}
