/**
 * `scion experiment --jobs N`'s runs in job workers: the engine's RunTrainer, implemented with
 * the one process pool's launcher and worker (launcher.ts, worker.ts, tasks/train-run.ts), so
 * N runs use N cores. The worker trains with the backend this process uses.
 */
import { currentBackend } from '../engine/backend.ts';
import { ScionError } from '../engine/errors.ts';
import { THREADS_ENV } from '../engine/train/parallel/threads.ts';
import type { RunStatus, RunTrainer } from '../engine/experiment/options.ts';
import { forkLauncher, WORKER_ENTRY, type WorkerLauncher } from './launcher.ts';
import type { FromWorker } from './messages.ts';

export function workerTrainer(launcher: WorkerLauncher = forkLauncher, entry: string = WORKER_ENTRY): RunTrainer {
  return (options, resume, cb) =>
    new Promise<RunStatus>((resolve, reject) => {
      const worker = launcher(entry, cb.threads !== undefined ? { [THREADS_ENV]: String(cb.threads) } : {});
      cb.onPid?.(worker.pid);
      let stderr: string[] = [];
      worker.onStderr((line) => (stderr = [...stderr, line].slice(-5)));
      let outcome: FromWorker | undefined;
      const onAbort = () => worker.send({ type: 'cancel' });
      cb.signal?.addEventListener('abort', onAbort, { once: true });
      worker.onMessage((m) => {
        if (m.type === 'log') cb.onLog?.(m.line);
        else if (m.type === 'run-progress') cb.onProgress?.(m.progress);
        else if (m.type === 'result' || m.type === 'error') outcome = m;
      });
      worker.onExit((code, signal) => {
        cb.signal?.removeEventListener('abort', onAbort);
        if (outcome?.type === 'result' && outcome.result.kind === 'train-run') resolve(outcome.result.status);
        else if (outcome?.type === 'error') reject(new ScionError(outcome.message, outcome.code, options.out));
        else {
          const why = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          const tail = stderr.join('\n').trim();
          reject(new ScionError(`${options.out}: the training process ${why} before finishing${tail ? `:\n${tail}` : ''}`, 'E_WORKER', options.out));
        }
      });
      worker.send({ type: 'start', jobId: 'train-run', spec: { kind: 'train-run', options, resume }, backend: currentBackend()?.name ?? 'wasm' });
      if (cb.signal?.aborted) onAbort();
    });
}
