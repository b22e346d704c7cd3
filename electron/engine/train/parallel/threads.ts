/**
 * How many CPU threads the engine may use: `--threads N`, else SCION_THREADS, else every
 * core Node reports. Processes that run side by side (`scion experiment --jobs N`, the app's
 * job runner) split that budget so jobs x threads never exceeds it.
 */
import * as os from 'node:os';
import { ScionError } from '../../errors.ts';

/** The environment variable that carries a process's thread budget to its children. */
export const THREADS_ENV = 'SCION_THREADS';

/** The cores Node may use (os.availableParallelism respects CPU affinity). */
export function availableCores(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

function checked(n: number, from: string): number {
  if (!Number.isInteger(n) || n < 1) throw new ScionError(`${from} must be an integer >= 1, got ${n}`, 'E_USAGE');
  return n;
}

/** The thread count to use: `requested`, else SCION_THREADS, else every core. */
export function resolveThreads(requested?: number): number {
  if (requested !== undefined) return checked(requested, '--threads');
  const env = process.env[THREADS_ENV];
  if (env !== undefined && env !== '') return checked(Number(env), THREADS_ENV);
  return availableCores();
}

/** Threads for each of `jobs` processes running side by side out of a budget of `total` threads (at least 1 each). */
export function threadsPerJob(jobs: number, total: number = resolveThreads()): number {
  return Math.max(1, Math.floor(total / Math.max(1, jobs)));
}
