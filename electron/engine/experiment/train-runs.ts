/**
 * Step 5 of an experiment: plan every training run (reusing a finished run with the same
 * settings, resuming an unfinished one), train them (in this process one after another, or up
 * to `jobs` at a time through `ExperimentCallbacks.trainer`), then read each run's metrics
 * and score its final model.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { type MetricLine, readMetrics } from '../train/metrics.ts';
import { type ResolvedTrainOptions, resolveTrainOptions, type TrainOptions } from '../train/options.ts';
import { metricsFile, readRunConfig, resumeRun, type TrainCallbacks, type TrainProgress, trainRun } from '../train/run.ts';
import type { MomentFiles } from './carry-moments.ts';
import type { GrownModels } from './grow-models.ts';
import { LOW_LR_FACTOR, type RunSpec } from './methods.ts';
import type { ExperimentCallbacks, RunStatus } from './options.ts';
import { runPool } from './pool.ts';
import type { ModelScores } from './results.ts';
import { type EvalSet, scoreModel } from './score.ts';
import type { ExperimentSetup } from './setup.ts';

/** One training run of the experiment, as planned before any starts. */
export interface PlannedRun {
  spec: RunSpec;
  runDir: string;
  train: TrainOptions;
  /** 'done': a finished run with the same settings (reused); 'resume': an unfinished one. */
  mode: 'done' | 'resume' | 'fresh';
  warmup: number;
  /** Steps at the peak rate after the warm-up (+hold runs), else 0. */
  hold: number;
}

export interface TrainedRun {
  metrics: MetricLine[];
  seconds: number;
  finalModel: string;
  runDir: string;
  warmup: number;
  hold: number;
}

/** Training options that must match for a finished run to be reused. */
const SAME_RUN_KEYS: (keyof ResolvedTrainOptions)[] = [
  'init',
  'data',
  'val',
  'steps',
  'batch',
  'ctx',
  'lr',
  'minLr',
  'warmup',
  'rewarm',
  'hold',
  'schedule',
  'weightDecay',
  'beta1',
  'beta2',
  'eps',
  'clip',
  'gradAccum',
  'seed',
  'evalEvery',
  'evalWindows',
  'maskRamp',
  'sampler',
];

export function sameRun(a: ResolvedTrainOptions, b: ResolvedTrainOptions): boolean {
  return SAME_RUN_KEYS.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k])) && Boolean(a.moments) === Boolean(b.moments);
}

/** What a run may change from the experiment's shared training (learning-rate tuning: a shorter budget and another rate). */
export interface RunOverride {
  /** The run's peak rate (its final rate keeps the shared min/peak ratio); `+lowlr` still scales it. */
  lr?: number;
  /** A shorter budget: the schedule, warm-up, re-warm-up, constant phase and mask ramp shrink with it. */
  steps?: number;
}

/** Plans one run of `s` into `runDir`: its training options, and whether a finished or unfinished run there is reused. */
export async function planRun(
  x: ExperimentSetup,
  s: RunSpec,
  models: GrownModels,
  moments: MomentFiles,
  runDir: string,
  o: RunOverride = {},
): Promise<PlannedRun> {
  const isScratch = s.method === 'scratch';
  const steps = o.steps ?? x.steps;
  const scale = (n: number) => (n > 0 && steps !== x.steps ? Math.max(1, Math.round((n * steps) / x.steps)) : n);
  const lr = o.lr ?? x.r0.lr;
  const minLr = o.lr === undefined ? x.r0.minLr : (x.r0.minLr / x.r0.lr) * o.lr;
  const rate = s.after.includes('lowlr') ? LOW_LR_FACTOR : 1;
  const train: TrainOptions = {
    ...x.opts.training,
    model: isScratch ? x.scratchDir : models.grown.get(s.method)!.dir,
    init: isScratch ? 'scratch' : 'pretrained',
    data: x.opts.data,
    val: x.opts.val,
    out: runDir,
    evalWindows: x.r0.evalWindows,
    steps,
    warmup: scale(x.r0.warmup),
    evalEvery: Math.min(x.r0.evalEvery, steps),
    lr: lr * rate,
    minLr: minLr * rate,
    // grown runs start at the peak rate unless re-warmed; carried moments need no warm-up
    ...(isScratch ? {} : { rewarm: s.after.includes('rewarm') ? scale(x.rewarm) : 0 }),
    ...(s.after.includes('moments') ? { moments: moments.files.get(s.method)!.file } : {}),
    ...(s.after.includes('ramp') ? { maskRamp: scale(x.rewarm) } : {}),
    ...(s.after.includes('hold') ? { hold: scale(x.hold) } : {}),
  };
  const wanted = resolveTrainOptions(train, x.targetConfig);
  let reuse = false;
  if (existsSync(path.join(runDir, 'run.json'))) {
    const prev = await readRunConfig(runDir);
    if (sameRun(prev.options, wanted) && !models.regrown.has(s.method)) reuse = true;
  }
  const mode = reuse && existsSync(path.join(runDir, 'result.json')) ? 'done' : reuse ? 'resume' : 'fresh';
  return { spec: s, runDir, train, mode, warmup: isScratch ? wanted.warmup : (train.rewarm ?? 0), hold: train.hold ?? 0 };
}

/** The experiment's runs, each at its own peak rate when `lrOf` names one (tuned), else the shared rate. */
export async function planRuns(x: ExperimentSetup, models: GrownModels, moments: MomentFiles, lrOf?: ReadonlyMap<string, number>): Promise<PlannedRun[]> {
  const planned: PlannedRun[] = [];
  for (const s of x.specs) {
    const lr = lrOf?.get(s.label);
    planned.push(await planRun(x, s, models, moments, path.join(x.out, 'runs', s.label), lr !== undefined ? { lr } : {}));
  }
  return planned;
}

/** Trains one planned run here or through the trainer; resolves with its status. */
async function trainOne(x: ExperimentSetup, p: PlannedRun, jobs: number, cb: ExperimentCallbacks, signal: AbortSignal): Promise<RunStatus> {
  const label = p.spec.label;
  x.log(`run ${label}: ${p.mode === 'resume' ? `resuming ${p.runDir}` : `training ${p.train.steps} steps -> ${p.runDir}`}`);
  const prefix = jobs > 1 ? `  [${label}] ` : '  ';
  const threads = x.threads;
  const onProgress = (pr: TrainProgress) => cb.onProgress?.(label, pr);
  if (jobs > 1) {
    return cb.trainer!(p.train, p.mode === 'resume', {
      onLog: (l) => x.log(prefix + l),
      onProgress,
      onPid: (pid) => x.log(`${prefix}process ${pid ?? '?'}`),
      signal,
      threads,
    });
  }
  const tcb: TrainCallbacks = { onLog: (l) => x.log(prefix + l), onProgress, signal, threads };
  const result = p.mode === 'resume' ? await resumeRun(p.runDir, tcb) : await trainRun({ ...p.train, force: true }, tcb);
  return result.status;
}

/** Trains every run not already done; throws E_INTERRUPTED naming the unfinished ones after a stop. */
export async function trainRuns(x: ExperimentSetup, planned: PlannedRun[], cb: ExperimentCallbacks): Promise<void> {
  const jobs = x.jobs;
  if (jobs > 1 && !cb.trainer) throw new ScionError(`--jobs ${jobs} trains runs in other processes, but no process launcher was given`, 'E_USAGE');
  if (jobs > 1)
    x.log(`training ${planned.filter((p) => p.mode !== 'done').length} run(s), up to ${jobs} at a time in child processes, ${x.threads} CPU thread(s) each`);
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  cb.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (cb.signal?.aborted) stop.abort();
  const statuses = new Map<string, RunStatus>();
  try {
    // scratch starts first: it defines the target, and its curve shows early whether the budget is enough
    const order = [...planned.filter((p) => p.spec.method === 'scratch'), ...planned.filter((p) => p.spec.method !== 'scratch')];
    await runPool(
      order,
      jobs,
      async (p) => {
        cb.onRunStart?.(p.spec.label, planned.indexOf(p), planned.length);
        if (p.mode === 'done') {
          x.log(`run ${p.spec.label}: already complete, reusing ${p.runDir}`);
          statuses.set(p.spec.label, 'completed');
          return;
        }
        statuses.set(p.spec.label, await trainOne(x, p, jobs, cb, stop.signal));
      },
      { shouldStart: () => !stop.signal.aborted, onFailure: () => stop.abort() },
    );
  } finally {
    cb.signal?.removeEventListener('abort', onOuterAbort);
  }
  const unfinished = planned.filter((p) => statuses.get(p.spec.label) !== 'completed').map((p) => p.spec.label);
  if (unfinished.length > 0)
    throw new ScionError(
      `experiment interrupted (unfinished: ${unfinished.join(', ')}); run the same command again to continue`,
      'E_INTERRUPTED',
      planned.find((p) => p.spec.label === unfinished[0])!.runDir,
    );
}

/** Every run's metrics and final model, each final model scored on every set. */
export async function readTrainedRuns(
  x: ExperimentSetup,
  planned: PlannedRun[],
  sets: EvalSet[],
  evaluations: ModelScores[],
): Promise<Map<string, TrainedRun>> {
  const trained = new Map<string, TrainedRun>();
  for (const p of planned) {
    const summary = JSON.parse(await fs.readFile(path.join(p.runDir, 'result.json'), 'utf8')) as { seconds: number; finalModel: string };
    trained.set(p.spec.label, {
      metrics: await readMetrics(metricsFile(p.runDir)),
      seconds: summary.seconds,
      finalModel: summary.finalModel,
      runDir: p.runDir,
      warmup: p.warmup,
      hold: p.hold,
    });
    evaluations.push({
      model: summary.finalModel,
      stage: p.spec.method === 'scratch' ? 'scratch' : 'trained',
      run: p.spec.label,
      scores: await scoreModel(summary.finalModel, sets, x.evalCtx),
    });
  }
  return trained;
}
