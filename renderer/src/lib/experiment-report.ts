/**
 * The parts of an experiment's results.json (format 'scion-experiment/1', written by
 * `scion experiment`) the Experiments screen shows. The renderer does not import the engine,
 * so this is a narrow reading of the document, checked on the way in.
 */
import type { MetricPoint } from '../../../electron/shared/contract.ts';

export interface ReportRun {
  label: string;
  method: string;
  initial_val_loss: number;
  final_val_loss: number;
  final_train_loss: number;
  steps: number;
  steps_to_target: number | null;
  speedup_display: string;
  flops_to_target: number | null;
  growth_flops: number;
  seconds: number;
  curve: Array<{ step: number; val_loss: number }>;
  train_curve: Array<{ step: number; train_loss: number }>;
  growth?: { verdict?: string; max_abs_logit_diff?: number };
}

export interface ExperimentReport {
  format: 'scion-experiment/1';
  created: string;
  backend: string;
  source: { dir: string; parameters: number; val_loss: number };
  target: { spec: string; parameters: number };
  target_val_loss: number;
  scratch_steps_to_target: number;
  runs: ReportRun[];
  evaluations: Array<{ model: string; stage: string; run?: string; scores: Record<string, { loss: number; perplexity: number; accuracy: number }> }>;
  notes: string[];
  seconds: number;
  /** What was measured, in words (added by the engine side: losses from start to end, at equal steps and FLOPs). */
  measured?: string[];
}

/** The report, or a readable reason it is not one. */
export function readReport(doc: Record<string, unknown>): ExperimentReport | string {
  if (doc['format'] !== 'scion-experiment/1') return `not a Scion experiment report (format '${String(doc['format'])}')`;
  if (!Array.isArray(doc['runs'])) return 'the experiment report has no runs';
  return doc as unknown as ExperimentReport;
}

/** A run's validation (or training) curve as metric points for the loss chart. */
export function curvePoints(run: ReportRun, which: 'val' | 'train'): MetricPoint[] {
  return which === 'val'
    ? run.curve.map((c) => ({ step: c.step, val_loss: c.val_loss, train_loss: Number.NaN, lr: 0, tokens: 0, time: 0 }))
    : run.train_curve.map((c) => ({ step: c.step, train_loss: c.train_loss, lr: 0, tokens: 0, time: 0 }));
}
