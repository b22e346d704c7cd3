/** The training settings the app proposes for a model (the training form and the hand-off form). */
import type { ModelEntry, TrainSettings } from '../../../electron/shared/contract.ts';

/**
 * Context up to 64 tokens; a grown model starts where its source is: at a from-scratch learning
 * rate it forgets early (the HyperCloning paper's observation), so it starts lower with a longer warm-up.
 */
export function trainDefaults(m: ModelEntry, steps: number): Pick<TrainSettings, 'ctx' | 'lr' | 'warmup'> {
  const grown = m.kind === 'grown';
  return { ctx: Math.min(m.shape.ctx, 64), lr: grown ? 1e-4 : 3e-4, warmup: grown ? Math.max(10, Math.round(steps / 10)) : 10 };
}
