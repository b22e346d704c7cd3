/** The training settings the app proposes for a model (the training form and the hand-off form). */
import type { ModelEntry, TrainSettings } from '../../../electron/shared/contract.ts';

/**
 * Context up to 64 tokens. A grown model trains at the from-scratch rate, warmed up again over a tenth of
 * the steps: in the papers-cpu experiment (docs/experiments.md) a third of the rate never reached scratch's
 * final loss, while the full rate, with or without a re-warm-up, did (the re-warm-up ended lowest).
 */
export function trainDefaults(m: ModelEntry, steps: number): Pick<TrainSettings, 'ctx' | 'lr' | 'warmup'> {
  const grown = m.kind === 'grown';
  return { ctx: Math.min(m.shape.ctx, 64), lr: 3e-4, warmup: grown ? Math.max(10, Math.round(steps / 10)) : 10 };
}
