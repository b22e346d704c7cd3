/** Dispatch from a job spec to the task that runs it. */
import type { JobResult, JobSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';
import { runEvaluate } from './evaluate.ts';
import { runSleep } from './sleep.ts';

export async function runTask(spec: JobSpec, ctx: TaskContext): Promise<JobResult> {
  switch (spec.kind) {
    case 'evaluate':
      return runEvaluate(spec, ctx);
    case 'sleep':
      return runSleep(spec, ctx);
    case 'grow':
      return (await import('./grow.ts')).runGrow(spec, ctx);
    case 'train':
      return (await import('./train.ts')).runTrain(spec, ctx);
    case 'sample':
      return (await import('./sample.ts')).runSample(spec, ctx);
    case 'train-run':
      return (await import('./train-run.ts')).runTrainRun(spec, ctx);
    case 'handoff':
      return (await import('./handoff.ts')).runHandoff(spec, ctx);
    case 'experiment':
      return (await import('./experiment.ts')).runExperiment(spec, ctx);
  }
}
