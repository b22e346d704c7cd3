/**
 * The job runner: a queue of jobs, each run in its own worker process (forked Node or
 * Electron's utilityProcess, through a WorkerLauncher), at most `concurrency` at a time
 * (1 by default: one accelerator-bound job); jobs that only write files (a hand-off folder)
 * start at once beside them. It knows processes, not projects: the
 * service turns its outcomes into entries and job records.
 *
 * Outcomes: `done` (a result), `failed` (the job threw: message and code), `cancelled`
 * (stopped on request; a training run checkpoints first), `interrupted` (the worker died
 * without a word: killed, crashed, out of memory).
 */
import { THREADS_ENV, threadsPerJob } from '../engine/train/parallel/threads.ts';
import type { Id } from '../shared/contract.ts';
import { type WorkerHandle, type WorkerLauncher, WORKER_ENTRY, forkLauncher } from './launcher.ts';
import type { FromWorker, JobResult, JobSpec } from './messages.ts';

/** Jobs that only read and write files (no accelerator, no compute threads): not counted by `concurrency`, never queued behind a training. */
const FILE_JOBS: ReadonlySet<JobSpec['kind']> = new Set(['handoff']);

export type JobOutcome =
  | { status: 'done'; result: JobResult }
  | { status: 'cancelled'; result?: JobResult }
  | { status: 'failed'; error: string; code: string }
  | { status: 'interrupted'; error: string };

export interface JobHooks {
  onStart?(pid: number | undefined): void;
  onMessage?(msg: FromWorker): void;
  onStderr?(line: string): void;
  /** Awaited before the next job starts. */
  onEnd(outcome: JobOutcome): void | Promise<void>;
}

export interface RunnerOptions {
  launcher?: WorkerLauncher;
  /** The worker's entry file (defaults to electron/jobs/worker.ts). */
  entry?: string;
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** How long a cancelled job may take to checkpoint and stop before it is killed. */
  cancelGraceMs?: number;
  /** Extra environment for workers (e.g. SCION_BACKEND). */
  env?: Record<string, string>;
  /** The tfjs backend workers start (default: SCION_BACKEND or auto). */
  backend?: string;
}

interface Queued {
  id: Id;
  spec: JobSpec;
  hooks: JobHooks;
}

interface Running extends Queued {
  worker: WorkerHandle;
  cancelRequested: boolean;
  killTimer?: NodeJS.Timeout;
  ended: Promise<void>;
}

export class JobRunner {
  private readonly queue: Queued[] = [];
  private readonly active = new Map<Id, Running>();
  private closed = false;
  private readonly launcher: WorkerLauncher;
  private readonly entry: string;
  private readonly concurrency: number;
  private readonly grace: number;

  constructor(private readonly opts: RunnerOptions = {}) {
    this.launcher = opts.launcher ?? forkLauncher;
    this.entry = opts.entry ?? WORKER_ENTRY;
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.grace = opts.cancelGraceMs ?? 60_000;
  }

  /** Queues a job; it starts as soon as a slot is free. */
  submit(id: Id, spec: JobSpec, hooks: JobHooks): void {
    if (this.closed) throw new Error('the job runner is closed');
    this.queue.push({ id, spec, hooks });
    this.pump();
  }

  isQueued(id: Id): boolean {
    return this.queue.some((q) => q.id === id);
  }

  isRunning(id: Id): boolean {
    return this.active.has(id);
  }

  pidOf(id: Id): number | undefined {
    return this.active.get(id)?.worker.pid;
  }

  /**
   * Cancels a job: a queued one is dropped (its onEnd says cancelled); a running one is
   * asked to stop and killed if it has not within the grace period. False if unknown.
   */
  cancel(id: Id): boolean {
    const qi = this.queue.findIndex((q) => q.id === id);
    if (qi >= 0) {
      const [q] = this.queue.splice(qi, 1);
      void Promise.resolve(q!.hooks.onEnd({ status: 'cancelled' }));
      return true;
    }
    const r = this.active.get(id);
    if (!r) return false;
    if (!r.cancelRequested) {
      r.cancelRequested = true;
      r.worker.send({ type: 'cancel' });
      r.killTimer = setTimeout(() => r.worker.kill(), this.grace);
    }
    return true;
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.active.size > 0 || this.queue.length > 0) {
      await Promise.race([...this.active.values()].map((r) => r.ended));
      await new Promise((r) => setImmediate(r));
    }
  }

  /** Cancels queued jobs, asks running ones to stop (killing them after `graceMs`), waits. */
  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    for (const q of this.queue.splice(0)) await q.hooks.onEnd({ status: 'cancelled' });
    for (const r of this.active.values()) {
      r.cancelRequested = true;
      r.worker.send({ type: 'cancel' });
      clearTimeout(r.killTimer);
      r.killTimer = setTimeout(() => r.worker.kill(), graceMs);
    }
    await Promise.all([...this.active.values()].map((r) => r.ended));
  }

  private pump(): void {
    if (this.closed) return;
    for (const q of this.queue.filter((j) => FILE_JOBS.has(j.spec.kind))) {
      this.queue.splice(this.queue.indexOf(q), 1);
      this.start(q);
    }
    const computing = () => [...this.active.values()].filter((r) => !FILE_JOBS.has(r.spec.kind)).length;
    while (computing() < this.concurrency && this.queue.length > 0) this.start(this.queue.shift()!);
  }

  private start(q: Queued): void {
    // each of the `concurrency` jobs gets an equal share of the CPU threads (jobs x threads <= the budget)
    const env: Record<string, string> = { [THREADS_ENV]: String(threadsPerJob(this.concurrency)), ...(this.opts.env ?? {}) };
    const worker = this.launcher(this.entry, env);
    let outcome: JobOutcome | undefined;
    let finish!: () => void;
    const r: Running = { ...q, worker, cancelRequested: false, ended: new Promise<void>((res) => (finish = res)) };
    this.active.set(q.id, r);
    worker.onMessage((msg) => {
      if (msg.type === 'result') {
        const stopped = 'stopped' in msg.result && msg.result.stopped;
        outcome =
          r.cancelRequested && (stopped || msg.result.kind === 'evaluate')
            ? { status: 'cancelled', result: msg.result }
            : { status: 'done', result: msg.result };
      } else if (msg.type === 'error') {
        outcome = r.cancelRequested ? { status: 'cancelled' } : { status: 'failed', error: msg.message, code: msg.code };
      }
      q.hooks.onMessage?.(msg);
    });
    worker.onStderr((line) => q.hooks.onStderr?.(line));
    worker.onExit((code, signal) => {
      clearTimeout(r.killTimer);
      const end: JobOutcome =
        outcome ??
        (r.cancelRequested
          ? { status: 'cancelled' }
          : { status: 'interrupted', error: `the worker process stopped unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})` });
      void (async () => {
        try {
          await q.hooks.onEnd(end);
        } finally {
          this.active.delete(q.id);
          finish();
          this.pump();
        }
      })();
    });
    q.hooks.onStart?.(worker.pid);
    worker.send({ type: 'start', jobId: q.id, spec: q.spec, ...(this.opts.backend ? { backend: this.opts.backend } : {}) });
  }
}
