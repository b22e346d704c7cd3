/**
 * Step 0 of an experiment with a source recipe (the papers' setup: the source is trained as
 * part of the experiment, on its own slice of the corpus, for a fraction of the target's
 * budget): write the source's config (bytes as tokens, or the recipe's tokenizer), train it from scratch
 * into `<out>/source/run`, and return its final model and the tokens it cost. A finished source
 * run with the same settings is reused, an unfinished one resumed.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { readModelConfig } from '../models/model.ts';
import { resolveTrainOptions, type TrainOptions } from '../train/options.ts';
import { readRunConfig, resumeRun, type TrainCallbacks, trainRun } from '../train/run.ts';
import type { SourceRecipe } from './options.ts';
import { writeSourceInit } from './source-init.ts';
import { sameRun } from './train-runs.ts';
import { agesRoot, type SourceAge, trainSourceWithAges } from './source-ages.ts';

export interface TrainedSource {
  /** The trained source model folder. */
  dir: string;
  /** Tokens its training read (steps x batch x ctx x accumulation). */
  tokens: number;
  seconds: number;
  /** Its run folder and the settings the report shows. */
  run: { dir: string; seconds: number; data: string; steps: number; batch: number; ctx: number; lr: number; sampler: string };
  /** Its models at the earlier ages asked for (`--source-ages`), ascending. */
  ages: SourceAge[];
}

/** Trains (or reuses) the source; with `ages` (steps before its last), keeps its model at each (source-ages.ts). */
export async function trainSource(out: string, recipe: SourceRecipe, val: string, cb: TrainCallbacks, ages: number[] = []): Promise<TrainedSource> {
  const initDir = path.join(out, 'source', 'init');
  const runDir = path.join(out, 'source', 'run');
  const changed = await writeSourceInit(initDir, recipe.config, recipe.tokenizer);
  const train: TrainOptions = { ...recipe.training, model: initDir, init: 'scratch', data: recipe.data, val, out: runDir };
  const { config } = await readModelConfig(initDir);
  const wanted = resolveTrainOptions(train, config);
  const same = !changed && existsSync(path.join(runDir, 'run.json')) && sameRun((await readRunConfig(runDir)).options, wanted);
  const mode = same && existsSync(path.join(runDir, 'result.json')) ? 'done' : same ? 'resume' : 'fresh';
  const log = cb.onLog ?? (() => undefined);
  if (mode === 'done') log(`source: already trained, reusing ${runDir}`);
  else log(`source: ${mode === 'resume' ? 'resuming' : 'training'} ${wanted.steps} steps on ${recipe.data} -> ${runDir}`);
  if (mode === 'fresh') await fs.rm(agesRoot(out), { recursive: true, force: true }); // the ages of a source trained before
  let kept: SourceAge[] = [];
  if (ages.length > 0) kept = await trainSourceWithAges(out, train, config, mode, ages, cb);
  else if (mode !== 'done') {
    const r = mode === 'resume' ? await resumeRun(runDir, cb) : await trainRun({ ...train, force: true }, cb);
    if (r.status !== 'completed')
      throw new ScionError('experiment interrupted while training the source; run the same command again to continue', 'E_INTERRUPTED', runDir);
  }
  const summary = JSON.parse(await fs.readFile(path.join(runDir, 'result.json'), 'utf8')) as { seconds: number; finalModel: string };
  const w = wanted;
  return {
    dir: summary.finalModel,
    tokens: w.steps * w.batch * w.ctx * w.gradAccum,
    seconds: summary.seconds,
    ages: kept,
    run: { dir: runDir, seconds: summary.seconds, data: recipe.data, steps: w.steps, batch: w.batch, ctx: w.ctx, lr: w.lr, sampler: w.sampler ?? 'random' },
  };
}
