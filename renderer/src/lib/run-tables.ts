/**
 * Tables of training sessions for the Training screen: their metrics as CSV rows, and their
 * hyperparameters side by side with the ones that differ flagged. Pure functions, no DOM.
 */
import type { MetricPoint, TrainingEntry, TrainSettings } from '../../../electron/shared/contract.ts';

/** One CSV row per step per session: every loss the run recorded, blank where it did not. */
export function metricsCsvRows(runs: Array<{ session: string; points: MetricPoint[] }>): Array<Array<string | number>> {
  const rows: Array<Array<string | number>> = [['session', 'step', 'train_loss', 'val_loss', 'lr', 'tokens', 'seconds']];
  for (const r of runs)
    for (const p of r.points) rows.push([r.session, p.step, p.train_loss ?? '', p.val_loss ?? '', p.step > 0 ? p.lr : '', p.tokens, p.time]);
  return rows;
}

export interface CompareRow {
  label: string;
  values: string[];
  /** True when the sessions do not all have the same value. */
  differs: boolean;
}

// recompute is left out: it changes memory and time, not the results
const SETTINGS: Array<[Exclude<keyof TrainSettings, 'recompute'>, string]> = [
  ['steps', 'steps'],
  ['batch', 'batch'],
  ['ctx', 'context'],
  ['gradAccum', 'gradient accumulation'],
  ['lr', 'learning rate'],
  ['minLr', 'final learning rate'],
  ['schedule', 'schedule'],
  ['warmup', 'warm-up steps'],
  ['weightDecay', 'weight decay'],
  ['clip', 'gradient clip'],
  ['seed', 'seed'],
  ['evalEvery', 'validate every'],
  ['checkpointEvery', 'checkpoint every'],
];

/** 0.000029999999999999997 -> "0.00003": settings shown to 6 significant digits. */
function shortNumber(v: string | number): string {
  return typeof v === 'number' ? String(Number(v.toPrecision(6))) : v;
}

/** Rows of the comparison: model, data, then every training setting; `names` resolves ids to names. */
export function compareRows(sessions: TrainingEntry[], names: (id: string | undefined) => string): CompareRow[] {
  const row = (label: string, values: string[]): CompareRow => ({ label, values, differs: new Set(values).size > 1 });
  return [
    row(
      'model',
      sessions.map((t) => names(t.modelId)),
    ),
    row(
      'training data',
      sessions.map((t) => names(t.datasetId)),
    ),
    row(
      'validation data',
      sessions.map((t) => (t.valDatasetId ? names(t.valDatasetId) : '(none)')),
    ),
    row(
      'tokens per step',
      sessions.map((t) => String(t.settings.batch * t.settings.ctx * t.settings.gradAccum)),
    ),
    ...SETTINGS.map(([key, label]) =>
      row(
        label,
        sessions.map((t) => shortNumber(t.settings[key])),
      ),
    ),
  ];
}
