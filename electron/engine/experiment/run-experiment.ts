/**
 * `scion experiment`: grow the source once per method, build the from-scratch baseline of the
 * same target shape, train every run with the same seed, data order and step budget,
 * evaluate every model on every dataset, and compute steps-to-target, speed-ups and FLOPs.
 * Folder layout under `out`: models/<method>/ (grown, before training), runs/<label>/ (each a
 * `scion train` run folder), results.json, report.md, report.html. Re-running into the same
 * folder reuses completed runs with the same settings and resumes interrupted ones.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { atomicWriteJson } from '../io/atomic.ts';
import { checkOutputDir, writeOutputMarker } from '../io/out-dir.ts';
import { writeReports } from '../report/write.ts';
import { loadTokenizer } from '../tokenizer/tokenizer.ts';
import { parseDataSpec } from '../train/data.ts';
import { writeMomentFiles } from './carry-moments.ts';
import { compareRuns } from './compare.ts';
import { growModels } from './grow-models.ts';
import { parseRunSpecs } from './methods.ts';
import type { ExperimentCallbacks, ExperimentOptions, ExperimentWithSource } from './options.ts';
import { trainSource } from './train-source.ts';
import { ScionError } from '../errors.ts';
import type { ExperimentResults, ModelScores } from './results.ts';
import { loadEvalSets, scoreModel } from './score.ts';
import { checkHold, setUpExperiment } from './setup.ts';
import { checkSourceAges } from './source-ages.ts';
import { growAtAges, planAgeRuns } from './age-runs.ts';
import { planRuns, readTrainedRuns, trainRuns } from './train-runs.ts';
import { tuneLearningRates, tuningSteps } from './tune-lr.ts';

export type { ExperimentCallbacks, ExperimentOptions, RunTrainer, TrainingSettings } from './options.ts';
export type { SourceRecipe } from './options.ts';

export async function runExperiment(given: ExperimentOptions, cb: ExperimentCallbacks = {}): Promise<ExperimentResults> {
  const log = cb.onLog ?? (() => undefined);
  const started = Date.now();
  const specs = parseRunSpecs(given.methods);
  if (given.tuneLr) tuningSteps(given.tuneLr, given.training.steps); // a bad --tune-steps is refused before anything runs
  checkHold(given, specs);
  const agePlan = checkSourceAges(given, specs); // ages beyond the source's steps are refused before anything is written
  if ((given.source === undefined) === (given.sourceRecipe === undefined))
    throw new ScionError('experiment: give either a source model (--source) or a source recipe (--preset), not both or neither', 'E_USAGE');
  const recipeData = given.sourceRecipe ? [given.sourceRecipe.data] : [];
  const dataInputs = [given.data, given.val, ...recipeData, ...(given.evalData ?? [])].map((spec) => ({ what: 'the dataset', path: parseDataSpec(spec).file }));
  // a missing dataset (a preset's --corpus) is named before the output folder is made
  for (const d of dataInputs) if (!existsSync(d.path)) throw new ScionError(`${d.path}: dataset not found`, 'E_DATASET', d.path);
  const inputs = [...(given.source !== undefined ? [{ what: 'the source model', path: given.source }] : []), ...dataInputs];
  if (given.sourceMoments) inputs.push({ what: '--source-moments', path: given.sourceMoments });
  if (given.sourceRecipe?.tokenizer) inputs.push({ what: '--tokenizer', path: given.sourceRecipe.tokenizer });
  await checkOutputDir({ out: given.out, kind: 'experiment', command: 'experiment', inputs, force: false });
  // 1. the target shape, the shared training options (refused if they do not fit) and every method's growth
  // options: before anything is written when the source is given, after the recipe trained it otherwise
  let x = given.source !== undefined ? await setUpExperiment({ ...given, source: given.source }, specs, log) : undefined;
  await fs.mkdir(path.join(given.out, 'models'), { recursive: true });
  await writeOutputMarker(given.out, 'experiment', 'experiment');
  await fs.mkdir(path.join(given.out, 'runs'), { recursive: true });

  // 0. the source: given, or trained by the recipe (then its tokens are its cost)
  const trainedSource = given.sourceRecipe
    ? await trainSource(
        given.out,
        given.sourceRecipe,
        given.val,
        {
          onLog: (l) => log(`  ${l}`),
          ...(cb.onProgress ? { onProgress: (p) => cb.onProgress!('source', p) } : {}),
          ...(cb.signal ? { signal: cb.signal } : {}),
        },
        agePlan?.ages,
      )
    : undefined;
  const opts: ExperimentWithSource = trainedSource
    ? { ...given, source: trainedSource.dir, sourceTokens: trainedSource.tokens }
    : { ...given, source: given.source! };
  x ??= await setUpExperiment(opts, specs, log);

  // 2. datasets (the source's tokenizer is every grown model's tokenizer), and the source's scores
  const tok = await loadTokenizer(opts.source);
  const evalSpecs = [opts.val, ...(opts.evalData ?? []).filter((s) => s !== opts.val)];
  const sets = await loadEvalSets(evalSpecs, tok, x.sourceConfig.vocabSize, x.evalCtx, x.r0.evalWindows);
  log(`evaluating the source on ${sets.length} dataset(s)`);
  const sourceScores = await scoreModel(opts.source, sets, x.evalCtx);
  const evaluations: ModelScores[] = [{ model: path.resolve(opts.source), stage: 'source', scores: sourceScores }];

  // 3. grow once per method, and the scratch run's folder
  const models = await growModels(x, sets, evaluations);
  const ageModels = agePlan ? await growAtAges(x, agePlan, trainedSource!.ages, sets, evaluations) : undefined;

  // 4. optimizer moments for the +moments runs
  const moments = await writeMomentFiles(x, tok);

  // 5. tune each arm's rate on a short budget (when asked), then train every run (in this process,
  // or up to `jobs` at a time in other processes) at its rate
  const tuning = opts.tuneLr ? await tuneLearningRates(x, opts.tuneLr, models, moments, cb) : undefined;
  const lrOf = tuning ? new Map(Object.entries(tuning.chosen)) : undefined;
  const planned = await planRuns(x, models, moments, lrOf);
  if (agePlan) planned.push(...(await planAgeRuns(x, agePlan, ageModels!, moments, lrOf)));
  await trainRuns(x, planned, cb);
  const trained = await readTrainedRuns(x, planned, sets, evaluations);

  // 6. target, steps to target, speed-ups, FLOPs
  const results = compareRuns(x, {
    ...(trainedSource ? { sourceRun: trainedSource.run } : {}),
    sets,
    sourceValLoss: sourceScores[sets[0]!.name]!.loss,
    evaluations,
    models,
    moments,
    trained,
    planned,
    started,
    ...(tuning ? { tuning } : {}),
    ...(agePlan ? { ages: { plan: agePlan, grown: ageModels! } } : {}),
  });
  await atomicWriteJson(path.join(opts.out, 'results.json'), results);
  await writeReports(opts.out, results);
  return results;
}
