/** What a task running inside a worker gets: a way to report, and the cancel signal. */
import type { FromWorker, JobResult, JobSpec } from '../messages.ts';

export interface TaskContext {
  emit(msg: FromWorker): void;
  log(line: string): void;
  /** Aborted when the user cancels (or the app goes away): checkpoint and stop. */
  signal: AbortSignal;
  /** The tfjs backend in use. */
  backend: string;
}

export type Task<S extends JobSpec> = (spec: S, ctx: TaskContext) => Promise<JobResult>;
