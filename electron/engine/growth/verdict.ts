/**
 * The scale of the function-preservation verdict, and its tolerances (no tensors here: the
 * store grades checks recorded by older versions with it too).
 */
import type { Verdict } from './options.ts';

export const LOGIT_ABS_TOL = 1e-4;
export const LOGIT_REL_TOL = 1e-4;
export const LOSS_TOL = 1e-5;
/** |loss change| in nats per token up to which a non-exact growth is 'approximate' (a few % of perplexity). */
export const APPROX_LOSS_BOUND = 0.05;

/** The measured verdict (the operator's theory is a `Verdict`). */
export type CheckVerdict = 'exact' | 'approximate' | 'changes the function';
export const CHECK_VERDICTS: readonly CheckVerdict[] = ['exact', 'approximate', 'changes the function'];

/** The verdict's scale in one line (CLI output, growth.json). */
export const VERDICT_SCALE = `exact: every logit within ${LOGIT_ABS_TOL} + ${LOGIT_REL_TOL}|logit| and loss within ${LOSS_TOL}; approximate: |loss change| <= ${APPROX_LOSS_BOUND} nats; changes the function: beyond that`;

/** Grades a check; `theory` 'exact' turns any miss of the exact tolerance into 'changes the function'. */
export function gradeCheck(m: { withinExactTolerance: boolean; lossChange: number; maxAbsLogitDiff: number }, theory?: Verdict): CheckVerdict {
  if (m.withinExactTolerance) return 'exact';
  if (theory === 'exact' || !Number.isFinite(m.lossChange) || !Number.isFinite(m.maxAbsLogitDiff)) return 'changes the function';
  return Math.abs(m.lossChange) <= APPROX_LOSS_BOUND ? 'approximate' : 'changes the function';
}

/** Why a check got its verdict, in a few words with the numbers (CLI output). */
export function explainVerdict(v: CheckVerdict, m: { lossChange: number; maxAbsLogitDiff: number }, theory?: Verdict): string {
  const dloss = Math.abs(m.lossChange);
  const shown = dloss < 1e-3 ? dloss.toExponential(2) : dloss.toFixed(4);
  if (v === 'exact') return `within ${LOGIT_ABS_TOL} + ${LOGIT_REL_TOL}|logit|, loss within ${LOSS_TOL}`;
  if (!Number.isFinite(dloss) || !Number.isFinite(m.maxAbsLogitDiff)) return 'the grown model computes NaN or infinite values';
  if (v === 'approximate') return `|loss change| ${shown} <= ${APPROX_LOSS_BOUND} nats`;
  if (theory === 'exact' && dloss <= APPROX_LOSS_BOUND)
    return `the method is exact in theory but missed the exact tolerance (|loss change| ${shown} nats): a bug or a numerical problem`;
  return `|loss change| ${shown} > ${APPROX_LOSS_BOUND} nats`;
}
