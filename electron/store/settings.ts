/** The training settings a project records, taken from a trainer's resolved options. */
import type { TrainSettings } from '../shared/contract.ts';

export function trainSettingsOf(o: TrainSettings): TrainSettings {
  return {
    steps: o.steps,
    batch: o.batch,
    ctx: o.ctx,
    lr: o.lr,
    minLr: o.minLr,
    warmup: o.warmup,
    schedule: o.schedule,
    weightDecay: o.weightDecay,
    clip: o.clip,
    gradAccum: o.gradAccum,
    seed: o.seed,
    evalEvery: o.evalEvery,
    checkpointEvery: o.checkpointEvery,
    ...(o.recompute ? { recompute: true } : {}),
  };
}
