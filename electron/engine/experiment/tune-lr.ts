/**
 * Learning-rate tuning, the same for every arm (`--tune-lr a,b,c`): scratch and each grown run
 * train at each candidate peak rate for a short budget (the first `steps` steps' tokens, with
 * the whole schedule, warm-up and re-warm-up shrunk to that length), every tuning run is kept
 * and recorded, and each arm's full run uses the rate whose tuning run ended at the lowest
 * validation loss (ties: the first rate listed). So grown runs get a rate chosen for the warm
 * start exactly as fairly as scratch gets one chosen for a cold start (issue 18).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { parseNumberList } from './number-list.ts';
import { readMetrics } from '../train/metrics.ts';
import { metricsFile } from '../train/run.ts';
import type { MomentFiles } from './carry-moments.ts';
import type { GrownModels } from './grow-models.ts';
import type { ExperimentCallbacks } from './options.ts';
import type { ExperimentSetup } from './setup.ts';
import { type PlannedRun, planRun, trainRuns } from './train-runs.ts';

export interface TuneLr {
  /** Candidate peak rates. */
  lrs: number[];
  /** Steps of each tuning run (default a tenth of the budget). */
  steps?: number;
}

export interface TuningRun {
  /** The arm (run spec label) it tunes. */
  run: string;
  lr: number;
  /** The validation loss at its last step: what the choice minimises. */
  final_val_loss: number;
  curve: { step: number; val_loss: number }[];
  run_dir: string;
}

export interface TuningResults {
  lrs: number[];
  steps: number;
  runs: TuningRun[];
  /** Each arm's chosen peak rate (the argmin of its tuning runs' final validation loss). */
  chosen: Record<string, number>;
}

/** The tuning run folder's name: `<label>--lr-<rate>` under `<out>/tuning/`. */
export const tuningLabel = (label: string, lr: number) => `${label}--lr-${lr}`;

export function tuningSteps(t: TuneLr, budget: number): number {
  const steps = t.steps ?? Math.max(1, Math.round(budget / 10));
  if (!Number.isInteger(steps) || steps < 1 || steps > budget)
    throw new ScionError(`--tune-steps must be an integer from 1 to the budget (${budget} steps), got ${steps}`, 'E_USAGE');
  return steps;
}

/** Parses `--tune-lr 1e-3,3e-3,1e-2`: distinct positive rates. */
export function parseTuneLr(list: string): number[] {
  return parseNumberList(list, 'tune-lr', (x) => Number.isFinite(x) && x > 0, 'positive learning rates separated by commas (e.g. 1e-3,3e-3,1e-2)');
}

/** Trains every arm at every rate for the tuning budget (reusing finished tuning runs), and picks each arm's rate. */
export async function tuneLearningRates(
  x: ExperimentSetup,
  t: TuneLr,
  models: GrownModels,
  moments: MomentFiles,
  cb: ExperimentCallbacks,
): Promise<TuningResults> {
  const steps = tuningSteps(t, x.steps);
  await fs.mkdir(path.join(x.out, 'tuning'), { recursive: true });
  const planned: { run: string; lr: number; p: PlannedRun }[] = [];
  for (const s of x.specs)
    for (const lr of t.lrs) {
      const label = tuningLabel(s.label, lr);
      const p = await planRun(x, s, models, moments, path.join(x.out, 'tuning', label), { lr, steps });
      planned.push({ run: s.label, lr, p: { ...p, spec: { ...s, label } } });
    }
  x.log(`learning-rate tuning: ${x.specs.length} run(s) x ${t.lrs.length} rate(s) (${t.lrs.join(', ')}), ${steps} steps each`);
  await trainRuns(
    x,
    planned.map((q) => q.p),
    cb,
  );
  const runs: TuningRun[] = [];
  for (const q of planned) {
    const curve = (await readMetrics(metricsFile(q.p.runDir))).filter((m) => m.val_loss !== undefined).map((m) => ({ step: m.step, val_loss: m.val_loss! }));
    const last = curve[curve.length - 1];
    if (!last || last.step !== steps)
      throw new ScionError(`${q.p.runDir}: the tuning run has no validation loss at its last step ${steps}`, 'E_RUN', q.p.runDir);
    runs.push({ run: q.run, lr: q.lr, final_val_loss: last.val_loss, curve, run_dir: q.p.runDir });
  }
  const chosen: Record<string, number> = {};
  for (const s of x.specs) {
    const mine = runs.filter((r) => r.run === s.label);
    // NaN (a diverged run) never wins; ties go to the first rate listed
    const best = mine.reduce((a, b) => (b.final_val_loss < a.final_val_loss || Number.isNaN(a.final_val_loss) ? b : a));
    chosen[s.label] = best.lr;
    x.log(`  ${s.label}: ${mine.map((r) => `lr ${r.lr} -> ${r.final_val_loss.toFixed(4)}`).join(', ')}; chosen ${best.lr}`);
  }
  return { lrs: t.lrs, steps, runs, chosen };
}
