/**
 * Steps-to-target and speed-up, from validation curves measured every few steps. The target
 * is the scratch run's final validation loss. A run reaches it at the first evaluated step
 * whose loss is at or below it (so a step count is exact only to the evaluation interval,
 * and is an upper bound on the steps really needed). Speed-up = scratch's steps / the run's
 * steps. A run at or below the target before training (step 0) needed no steps, and says
 * nothing about speed at this budget: no ratio is reported ('started_below'; its curves and
 * losses are what was measured; a budget at which scratch passes the source measures it).
 * A run that never reaches the target has no speed-up either.
 */

export interface CurvePoint {
  step: number;
  val_loss: number;
}

export type SpeedupKind = 'measured' | 'started_below' | 'not_reached';

export interface Speedup {
  /** Steps the run needed to reach the target (0 if it started there), or null if it never did. */
  stepsToTarget: number | null;
  /** Scratch steps / run steps; null when it started below the target or never reached it. */
  speedup: number | null;
  kind: SpeedupKind;
  /** How a report shows it: "3.21x", "none measured: ...", "not reached in 400 steps". */
  display: string;
}

/** The first evaluated step at which `curve` is at or below `target`, or null. */
export function stepsToTarget(curve: CurvePoint[], target: number): number | null {
  const sorted = [...curve].sort((a, b) => a.step - b.step);
  for (const p of sorted) if (p.val_loss <= target) return p.step;
  return null;
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/**
 * The speed-up of a run whose curve is `curve`, against a scratch run that needed
 * `scratchSteps` steps to reach `target`; `budget` is the steps the run trained.
 */
export function speedupOf(curve: CurvePoint[], target: number, scratchSteps: number, budget: number): Speedup {
  const s = stepsToTarget(curve, target);
  if (s === null) return { stepsToTarget: null, speedup: null, kind: 'not_reached', display: `not reached in ${budget} steps` };
  if (s === 0) {
    const start = [...curve].sort((a, b) => a.step - b.step)[0]!.val_loss;
    return {
      stepsToTarget: 0,
      speedup: null,
      kind: 'started_below',
      display: `none measured: below the target before training (${start.toFixed(3)} <= ${target.toFixed(3)}), so this budget says nothing about speed`,
    };
  }
  const x = scratchSteps / s;
  return { stepsToTarget: s, speedup: x, kind: 'measured', display: `${fmt(x)}x` };
}
