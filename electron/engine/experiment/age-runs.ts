/**
 * The runs of `--source-ages`: the source's model at each earlier age is scored, grown with the
 * age methods into models/<method>@src<N>/ and trained like the experiment's other runs (the
 * same data slice, order, budget and schedule; each at its arm's rate) into runs/<label>@src<N>/.
 */
import * as path from 'node:path';
import type { MomentFiles } from './carry-moments.ts';
import { type GrownModels, growFrom } from './grow-models.ts';
import type { ModelScores } from './results.ts';
import { type EvalSet, scoreModel } from './score.ts';
import type { ExperimentSetup } from './setup.ts';
import { ageLabel, type AgePlan, type SourceAge } from './source-ages.ts';
import { type PlannedRun, planRun } from './train-runs.ts';

export interface AgeModels {
  age: SourceAge;
  /** The source at this age on the first eval dataset. */
  valLoss: number;
  models: GrownModels;
}

/** Scores the source at each age (recorded as `source@N`) and grows it with every age method. */
export async function growAtAges(x: ExperimentSetup, plan: AgePlan, ages: SourceAge[], sets: EvalSet[], evaluations: ModelScores[]): Promise<AgeModels[]> {
  const out: AgeModels[] = [];
  for (const age of ages) {
    const scores = await scoreModel(age.dir, sets, x.evalCtx);
    evaluations.push({ model: age.dir, stage: 'source', run: `source@${age.step}`, scores });
    const models = await growFrom(x, age.dir, plan.specs, (m) => ageLabel(m, age.step), sets, evaluations);
    out.push({ age, valLoss: scores[sets[0]!.name]!.loss, models });
  }
  return out;
}

/** Every age run, each at its arm's rate when `lrOf` names one (tuned), else the shared rate. */
export async function planAgeRuns(
  x: ExperimentSetup,
  plan: AgePlan,
  grown: AgeModels[],
  moments: MomentFiles,
  lrOf?: ReadonlyMap<string, number>,
): Promise<PlannedRun[]> {
  const planned: PlannedRun[] = [];
  for (const g of grown)
    for (const s of plan.specs) {
      const label = ageLabel(s.label, g.age.step);
      const lr = lrOf?.get(s.label);
      const p = await planRun(x, s, g.models, moments, path.join(x.out, 'runs', label), lr !== undefined ? { lr } : {});
      planned.push({ ...p, spec: { ...s, label } });
    }
  return planned;
}
