/** The experiment job: `scion experiment` (grow per method, scratch baseline, train all, compare) into the job's folder. */
import { runExperiment as run } from '../../engine/experiment/run-experiment.ts';
import type { ExperimentResult, ExperimentSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';

export async function runExperiment(spec: ExperimentSpec, ctx: TaskContext): Promise<ExperimentResult> {
  let runIndex = 0;
  let runs = 1;
  const results = await run(
    { ...spec.options, out: spec.outDir },
    {
      signal: ctx.signal,
      onLog: (line) => ctx.log(line),
      onRunStart: (label, index, total) => {
        runIndex = index;
        runs = total;
        ctx.log(`run ${index + 1}/${total}: ${label}`);
      },
      onProgress: (_label, p) =>
        ctx.emit({
          type: 'progress',
          step: runIndex * p.steps + p.step,
          total: runs * p.steps,
          loss: p.trainLoss,
          tokensPerSecond: p.elapsed > 0 ? p.tokens / p.elapsed : 0,
          etaSeconds: p.eta,
        }),
    },
  );
  return { kind: 'experiment', report: results, stopped: ctx.signal.aborted };
}
