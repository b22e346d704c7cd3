/**
 * Running an experiment's training runs side by side (`scion experiment --jobs N`): a small
 * pool that keeps at most N runs going, and `trainInChild`, which trains one run in a child
 * Node process (train-worker.ts) so N runs use N cores. A child runs the very code the
 * in-process path runs, with the same options and backend, so its metrics are the same.
 * The child is forked with tsx (resolved from this file, so any working folder works), as
 * the CLI and the job runner start theirs.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScionError } from '../errors.ts';
import type { TrainOptions } from '../train/options.ts';
import { THREADS_ENV } from '../train/parallel/threads.ts';
import type { TrainProgress } from '../train/run.ts';

export type ToTrainWorker = { type: 'train'; backend: string; options: TrainOptions; resume: boolean } | { type: 'abort' };

export type FromTrainWorker =
  | { type: 'log'; line: string }
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'done'; status: 'completed' | 'interrupted' }
  | { type: 'error'; message: string; code?: string; file?: string };

export const TRAIN_WORKER_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'train-worker.ts');

export interface ChildRunCallbacks {
  onLog?: (line: string) => void;
  onProgress?: (p: TrainProgress) => void;
  onPid?: (pid: number | undefined) => void;
  signal?: AbortSignal;
  /** CPU threads for the child's run (its SCION_THREADS). */
  threads?: number;
}

/**
 * Trains (`resume` false: a fresh run into `options.out`, replacing what is there) or resumes
 * one run in a child process; resolves with its status, rejects with the child's error.
 */
export function trainInChild(options: TrainOptions, resume: boolean, backend: string, cb: ChildRunCallbacks = {}): Promise<'completed' | 'interrupted'> {
  return new Promise((resolve, reject) => {
    const child = fork(TRAIN_WORKER_ENTRY, [], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      ...(cb.threads !== undefined ? { env: { ...process.env, [THREADS_ENV]: String(cb.threads) } } : {}),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    cb.onPid?.(child.pid);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    let outcome: FromTrainWorker | undefined;
    const onAbort = () => {
      if (child.connected) child.send({ type: 'abort' } satisfies ToTrainWorker);
    };
    cb.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: FromTrainWorker) => {
      if (m.type === 'log') cb.onLog?.(m.line);
      else if (m.type === 'progress') cb.onProgress?.(m.progress);
      else outcome = m;
    });
    child.once('error', (e) => {
      cb.signal?.removeEventListener('abort', onAbort);
      reject(new ScionError(`${options.out}: could not start a training process: ${e.message}`, 'E_WORKER', options.out));
    });
    child.once('exit', (code, signal) => {
      cb.signal?.removeEventListener('abort', onAbort);
      if (outcome?.type === 'done') resolve(outcome.status);
      else if (outcome?.type === 'error') reject(new ScionError(outcome.message, outcome.code ?? 'E_WORKER', outcome.file ?? options.out));
      else {
        const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        const tail = stderr.trim().split('\n').slice(-5).join('\n');
        reject(new ScionError(`${options.out}: the training process ${why} before finishing${tail ? `:\n${tail}` : ''}`, 'E_WORKER', options.out));
      }
    });
    child.send({ type: 'train', backend, options, resume } satisfies ToTrainWorker);
  });
}

/**
 * Calls `fn` on every item, at most `jobs` at a time, starting them in order. After the
 * first failure no new item starts, `onFailure` is called once (to stop the others), and
 * the first error is rethrown when the running ones have settled. `shouldStart` can hold
 * back the remaining items (e.g. after Ctrl-C).
 */
export async function runPool<T>(
  items: readonly T[],
  jobs: number,
  fn: (item: T, index: number) => Promise<void>,
  opts: { shouldStart?: () => boolean; onFailure?: () => void } = {},
): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failed && (opts.shouldStart?.() ?? true)) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (e) {
        if (!failed) {
          failed = { error: e };
          opts.onFailure?.();
        }
      }
    }
  };
  const n = Math.max(1, Math.min(jobs, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failed) throw failed.error;
}
