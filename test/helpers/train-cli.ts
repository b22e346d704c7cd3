/** `scion train` in child processes: its metrics file as it grows, waiting for a step, waiting for the exit. */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { MetricLine } from '../../electron/engine/train/metrics.ts';
import { ROOT } from './fixtures.ts';

export const SCION = path.join(ROOT, 'bin', 'scion.js');

export type { MetricLine };

/** The run's metrics.jsonl as written so far (a line being written is skipped). */
export function metrics(runDir: string): MetricLine[] {
  const file = path.join(runDir, 'metrics.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as MetricLine];
      } catch {
        return [];
      }
    });
}

export function lastStep(runDir: string): number {
  const m = metrics(runDir);
  return m.length ? m[m.length - 1]!.step : -1;
}

/** Polls `cond` until it holds; fails when the child exits first (or after `timeoutMs`). */
export async function waitFor(cond: () => boolean, child: ChildProcess, what: string, timeoutMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (child.exitCode !== null) throw new Error(`the child exited (${child.exitCode}) before ${what}`);
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The child's exit code (null when a signal ended it). */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code)),
  );
}
