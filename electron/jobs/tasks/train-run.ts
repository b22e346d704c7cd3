/**
 * One training run of `scion experiment --jobs N`, in a job worker: the very code the
 * in-process path runs (`trainRun` / `resumeRun`) with the same options and backend, so its
 * metrics are the same. Progress goes back at most every 250 ms (and at the last step).
 */
import { resumeRun, type TrainProgress, trainRun } from '../../engine/train/run.ts';
import type { TrainRunResult, TrainRunSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';

export async function runTrainRun(spec: TrainRunSpec, ctx: TaskContext): Promise<TrainRunResult> {
  let lastProgress = 0;
  const cb = {
    signal: ctx.signal,
    onLog: (line: string) => ctx.log(line),
    onProgress: (p: TrainProgress) => {
      const now = Date.now();
      if (now - lastProgress < 250 && p.step < p.steps) return;
      lastProgress = now;
      ctx.emit({ type: 'run-progress', progress: p });
    },
  };
  const r = spec.resume ? await resumeRun(spec.options.out, cb) : await trainRun({ ...spec.options, force: true }, cb);
  return { kind: 'train-run', status: r.status, stopped: r.status === 'interrupted' };
}
