/**
 * What an experiment measured, said first in every report and summary: each run's
 * validation loss from start to end (and its best), and each grown run against scratch at
 * the same step count, which is also the same training FLOPs (every run has the target's
 * shape). Speed-ups come after, and only where one was measured.
 */
import { formatFlops } from '../experiment/flops.ts';
import type { ExperimentResults, RunResult } from '../experiment/results.ts';

function best(x: RunResult): { step: number; val_loss: number } | undefined {
  return x.curve.reduce<{ step: number; val_loss: number } | undefined>((b, p) => (!b || p.val_loss < b.val_loss ? p : b), undefined);
}

const signed = (d: number): string => `${d >= 0 ? '+' : ''}${d.toFixed(3)}`;

export function measuredLines(r: ExperimentResults): string[] {
  const scratch = r.runs.find((x) => x.method === 'scratch');
  const out: string[] = [];
  for (const x of r.runs) {
    const b = best(x);
    const course = `${x.initial_val_loss.toFixed(3)} -> ${x.final_val_loss.toFixed(3)} in ${x.steps} steps${b ? ` (best ${b.val_loss.toFixed(3)} at step ${b.step})` : ''}`;
    const rose = x.method !== 'scratch' && x.final_val_loss > x.initial_val_loss ? '; it rose during training' : '';
    out.push(`${x.label}: validation loss ${course}${rose}`);
  }
  if (scratch) {
    const flops = formatFlops(scratch.flops_per_step * scratch.steps);
    for (const x of r.runs) {
      if (x === scratch || x.steps !== scratch.steps) continue;
      out.push(
        `${x.label} vs scratch at equal steps and training FLOPs (${x.steps} steps, ${flops}): ${x.final_val_loss.toFixed(3)} vs ${scratch.final_val_loss.toFixed(3)} (${signed(x.final_val_loss - scratch.final_val_loss)})`,
      );
    }
  }
  out.push(`the source model before growth: ${r.source.val_loss.toFixed(3)}`);
  return out;
}
