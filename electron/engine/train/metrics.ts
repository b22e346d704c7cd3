/**
 * metrics.jsonl: one JSON object per line. Step 0 (when a validation set is given) holds the
 * initial `val_loss`; every step s >= 1 holds `train_loss`, `lr`, `tokens` (trained so far),
 * `time` (seconds of training so far, across resumes), `grad_norm`, and `val_loss` when
 * the run evaluated at that step; f16 runs add `loss_scale` and `skipped` (loss-scale.ts). Lines are appended as the run goes; on resume the file is
 * cut back to the checkpoint's step, so it never has gaps or duplicates.
 */
import { existsSync, promises as fs } from 'node:fs';
import { writeError } from '../errors.ts';
import { atomicWriteFile } from '../io/atomic.ts';

export interface MetricLine {
  step: number;
  train_loss?: number;
  lr?: number;
  tokens: number;
  time: number;
  grad_norm?: number;
  val_loss?: number;
  /** f16 runs: the loss scale of the step, and `skipped` when its gradients overflowed (no update). */
  loss_scale?: number;
  skipped?: boolean;
}

/** Reads a metrics file; a torn last line (a crash mid-append) is dropped. */
export async function readMetrics(file: string): Promise<MetricLine[]> {
  if (!existsSync(file)) return [];
  const out: MetricLine[] = [];
  for (const line of (await fs.readFile(file, 'utf8')).split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as MetricLine;
      if (typeof v.step === 'number') out.push(v);
    } catch {
      // torn line from a killed process
    }
  }
  return out;
}

/** Rewrites the file (atomically) with only the lines of steps <= `step`. */
export async function truncateMetrics(file: string, step: number): Promise<MetricLine[]> {
  const kept = (await readMetrics(file)).filter((m) => m.step <= step);
  await atomicWriteFile(file, kept.map((m) => JSON.stringify(m) + '\n').join(''));
  return kept;
}

export async function appendMetric(file: string, m: MetricLine): Promise<void> {
  await fs.appendFile(file, JSON.stringify(m) + '\n').catch((e: unknown) => {
    throw writeError(file, e);
  });
}
