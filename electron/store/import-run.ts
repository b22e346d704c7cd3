/**
 * Brings a run trained outside Scion back into a project: the run folder that a hand-off folder's
 * train.py wrote (run.json, metrics.jsonl, checkpoints, final/, result.json, in Scion's run format)
 * becomes a training session of the model it was handed off from. Nothing is copied or changed:
 * the session references the run folder where it is, like a `scion train --project` run.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { TrainingEntry } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { MANIFEST_FILE, type HandoffManifest } from '../engine/handoff/write-handoff.ts';
import { readModelConfig } from '../engine/models/model.ts';
import { parseDataSpec } from '../engine/train/data.ts';
import { readMetrics } from '../engine/train/metrics.ts';
import { readRunConfig } from '../engine/train/run.ts';
import { recordTraining } from './record.ts';

export interface ImportedRun {
  training: TrainingEntry;
  runDir: string;
  steps: number;
  completed: boolean;
}

/** The run folder of `dir`: `dir/run` of a hand-off folder, or `dir` itself. */
function findRunDir(dir: string): string {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new ScionError(`${abs}: not found`, 'E_NOT_FOUND', abs);
  for (const candidate of [path.join(abs, 'run'), abs]) if (existsSync(path.join(candidate, 'run.json'))) return candidate;
  const hint = existsSync(path.join(abs, MANIFEST_FILE)) ? ' (a hand-off folder that has not trained yet: start it with ./launch.sh there)' : '';
  throw new ScionError(`${abs}: no run.json, so no training run to import${hint}`, 'E_RUN', abs);
}

async function readManifest(dir: string): Promise<HandoffManifest | undefined> {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const m = JSON.parse(await fs.readFile(file, 'utf8')) as HandoffManifest;
    if (m.format !== 'scion-handoff') throw new Error(`format is '${String(m.format)}'`);
    return m;
  } catch (e) {
    throw new ScionError(`${file}: not a hand-off manifest (${(e as Error).message})`, 'E_RUN', file);
  }
}

/** Checks that every line of metrics.jsonl is a step in order with finite losses, naming the first one that is not. */
async function checkMetrics(runDir: string): Promise<number> {
  const file = path.join(runDir, 'metrics.jsonl');
  const lines = await readMetrics(file);
  if (lines.length === 0) throw new ScionError(`${file}: no metrics (the run has not trained a step)`, 'E_RUN', file);
  let last = -1;
  for (const [i, m] of lines.entries()) {
    const bad = (why: string) => new ScionError(`${file}: line ${i + 1} (step ${m.step}) ${why}`, 'E_RUN', file);
    if (!Number.isInteger(m.step) || m.step <= last) throw bad(`is out of order after step ${last}`);
    for (const k of ['train_loss', 'val_loss'] as const) if (m[k] !== undefined && !Number.isFinite(m[k])) throw bad(`has ${k} ${m[k]}`);
    last = m.step;
  }
  return last;
}

/** The model and data paths for the session: where run.json says when they are still there, else the hand-off folder's copies. */
function localInputs(handoffDir: string, m: HandoffManifest | undefined, o: { model: string; data: string; val?: string }) {
  const here = (spec: string | undefined) => spec !== undefined && existsSync(parseDataSpec(spec).file);
  const out: { modelDir?: string; dataSpec?: string; valSpec?: string } = {};
  if (!existsSync(o.model)) {
    if (!m) throw new ScionError(`${o.model}: the run's model is gone and there is no hand-off folder to take it from`, 'E_NOT_FOUND', o.model);
    out.modelDir = path.join(handoffDir, m.model.dir);
  }
  if (!here(o.data) && m) out.dataSpec = path.join(handoffDir, m.data.train.file);
  if (o.val !== undefined && !here(o.val) && m?.data.val) out.valSpec = path.join(handoffDir, m.data.val.file);
  return out;
}

export async function importRun(projectDir: string, dir: string): Promise<ImportedRun> {
  const runDir = findRunDir(dir);
  const handoffDir = path.dirname(runDir) === path.resolve(dir) ? path.resolve(dir) : path.dirname(runDir);
  const manifest = await readManifest(handoffDir);
  const run = await readRunConfig(runDir);
  const steps = await checkMetrics(runDir);
  const resultFile = path.join(runDir, 'result.json');
  let result: { status?: string; initialValLoss?: number; finalValLoss?: number } = {};
  if (existsSync(resultFile)) {
    try {
      result = JSON.parse(await fs.readFile(resultFile, 'utf8')) as typeof result;
    } catch (e) {
      throw new ScionError(`${resultFile}: not valid JSON (${(e as Error).message})`, 'E_RUN', resultFile);
    }
  }
  const completed = result.status === 'completed';
  const finalModel = path.join(runDir, 'final');
  if (completed) await readModelConfig(finalModel); // a clear error when final/ is missing or not a model
  const training = await recordTraining(projectDir, runDir, {
    completed,
    step: steps,
    ...(completed ? { finalModel } : {}),
    ...(result.initialValLoss !== undefined ? { initialValLoss: result.initialValLoss } : {}),
    ...(result.finalValLoss !== undefined ? { finalValLoss: result.finalValLoss } : {}),
    ...localInputs(handoffDir, manifest, run.options),
    ...(run.handoff || manifest ? { origin: 'handoff' as const, name: `${path.basename(handoffDir)} (PyTorch)` } : {}),
  });
  return { training, runDir, steps, completed };
}
