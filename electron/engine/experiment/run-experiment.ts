/**
 * `scion experiment`: grow the source once per method, build the from-scratch baseline of the
 * same target shape, train every run with the same seed, data order and step budget,
 * evaluate every model on every dataset, and compute steps-to-target, speed-ups and FLOPs.
 * Folder layout under `out`: models/<method>/ (grown, before training), runs/<label>/ (each a
 * `scion train` run folder), results.json, report.md, report.html. Re-running into the same
 * folder reuses completed runs with the same settings and resumes interrupted ones.
 */
import { activeBackend, requireFits } from '../memory/fit.ts';
import { resolveThreads, threadsPerJob } from '../train/parallel/threads.ts';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { currentBackend } from '../backend.ts';
import { ScionError } from '../errors.ts';
import { evaluate } from '../eval/evaluate.ts';
import {
  type DepthMode,
  type GrowOptions,
  type GrowthReport,
  MASK_FILE,
  disposeMasked,
  disposeMasks,
  effectiveParams,
  growModelDir,
  planGrowth,
  readGrowthMask,
} from '../growth/index.ts';
import { atomicWriteJson } from '../io/atomic.ts';
import { checkOutputDir, writeOutputMarker } from '../io/out-dir.ts';
import { writeSafetensors } from '../io/safetensors.ts';
import { contextLength, type ModelConfig, toHFConfig } from '../models/config.ts';
import { parameterCount, tensorSpecs } from '../models/family.ts';
import { copySideFiles, disposeParams, loadModel, readModelConfig } from '../models/model.ts';
import { loadTokenizer } from '../tokenizer/tokenizer.ts';
import { readMoments } from '../train/checkpoint.ts';
import { loadTokens, parseDataSpec, spreadWindows } from '../train/data.ts';
import { readMetrics } from '../train/metrics.ts';
import { carryMoments, estimateMoments, type Moments } from '../train/moments.ts';
import { type ResolvedTrainOptions, resolveTrainOptions, type TrainOptions } from '../train/options.ts';
import { metricsFile, readRunConfig, resumeRun, type TrainCallbacks, type TrainProgress, trainRun } from '../train/run.ts';
import { subSeed } from '../train/rng.ts';
import { formatFlops, trainFlops, trainFlopsPerStep } from './flops.ts';
import { LOW_LR_FACTOR, parseRunSpecs, type RunSpec } from './methods.ts';
import { runPool, trainInChild } from './parallel.ts';
import { writeReports } from '../report/write.ts';
import type { DatasetScore, ExperimentResults, ModelScores, RunResult } from './results.ts';
import { speedupOf, stepsToTarget } from './speedup.ts';
import { formatTarget, type TargetShape } from './target.ts';

export type TrainingSettings = Omit<TrainOptions, 'model' | 'data' | 'val' | 'out' | 'init' | 'moments' | 'rewarm' | 'force'>;

export interface ExperimentOptions {
  source: string;
  data: string;
  val: string;
  /** More datasets to evaluate every model on (the val set is always one). */
  evalData?: string[];
  target: TargetShape;
  /** Comma list of run specs (see methods.ts). */
  methods: string;
  training: TrainingSettings;
  /** Warm-up of the `+rewarm` runs (default: max(--warmup, steps / 10)). */
  rewarm?: number;
  /** Depth operator when the target has more layers (default identity). */
  depth?: DepthMode;
  /**
   * HyperCloning's symmetry-breaking noise (signal-to-noise in dB; the function is kept). Without
   * it the clone copies get identical gradients and stay identical, so the grown model keeps the
   * source's capacity (docs/experiments.md).
   */
  noiseDb?: number;
  /** Growth seed (default the training seed). */
  growthSeed?: number;
  /** AdamW moments of the source run (optimizer.safetensors of a `scion train` checkpoint); else estimated. */
  sourceMoments?: string;
  /** Gradient evaluations for the moment estimate (default 20). */
  momentSteps?: number;
  /** Tokens the source model was trained on, for FLOPs with the source's training. */
  sourceTokens?: number;
  /**
   * Training runs at a time (default 1: one after another in this process). Above 1 each run
   * trains in a child process; the metrics are the same as with 1 (same code, options, seed).
   */
  jobs?: number;
  /** CPU threads for the whole experiment (default: SCION_THREADS, else every core); each of the `jobs` runs gets an equal share. */
  threads?: number;
  out: string;
}

export interface ExperimentCallbacks {
  onLog?: (line: string) => void;
  onRunStart?: (label: string, index: number, total: number) => void;
  onProgress?: (label: string, p: TrainProgress) => void;
  signal?: AbortSignal;
}

/** One training run of the experiment, as planned before any starts. */
interface PlannedRun {
  spec: RunSpec;
  runDir: string;
  train: TrainOptions;
  /** 'done': a finished run with the same settings (reused); 'resume': an unfinished one. */
  mode: 'done' | 'resume' | 'fresh';
  warmup: number;
}

interface EvalSet {
  name: string;
  spec: string;
  ids: Uint32Array;
}

function datasetName(spec: string): string {
  const d = parseDataSpec(spec);
  const base = path.basename(d.file).replace(/\.[^.]+$/, '');
  return d.from === 0 && d.to === 1 ? base : `${base}[${d.from}-${d.to}]`;
}

/** Scores a model folder on every set; a model grown with msg is scored as training starts: masked at ramp 0. */
async function scoreModel(dir: string, sets: EvalSet[], ctx: number): Promise<Record<string, DatasetScore>> {
  const model = await loadModel(dir);
  const masks = existsSync(path.join(dir, MASK_FILE)) ? await readGrowthMask(dir, model.config) : undefined;
  const params = masks ? effectiveParams(model.params, masks, 0) : model.params;
  try {
    const out: Record<string, DatasetScore> = {};
    for (const s of sets) {
      const r = await evaluate({ ...model, params }, s.ids, { ctx });
      out[s.name] = { loss: r.loss, perplexity: r.perplexity, accuracy: r.accuracy };
    }
    return out;
  } finally {
    if (masks) {
      disposeMasked(params, model.params);
      disposeMasks(masks);
    }
    disposeParams(model.params);
  }
}

/** The growth options recorded in a grown model's growth.json, as JSON text (undefined if none). */
async function growthOptionsIn(dir: string): Promise<string | undefined> {
  try {
    const g = JSON.parse(await fs.readFile(path.join(dir, 'growth.json'), 'utf8')) as { options?: unknown };
    return JSON.stringify(g.options ?? null);
  } catch {
    return undefined;
  }
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
];

function sameRun(a: ResolvedTrainOptions, b: ResolvedTrainOptions): boolean {
  return SAME_RUN_KEYS.every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k])) && Boolean(a.moments) === Boolean(b.moments);
}

/** Writes carried moments in the target's tensor shapes (the file `scion train --moments` reads). */
async function writeShapedMoments(file: string, m: Moments, target: ModelConfig): Promise<void> {
  const shapes = new Map(tensorSpecs(target).map((s) => [s.name, s.shape]));
  const names = Object.keys(m.m).sort();
  const entries = names.flatMap((n) => [
    { name: `m/${n}`, shape: shapes.get(n) ?? [m.m[n]!.length] },
    { name: `v/${n}`, shape: shapes.get(n) ?? [m.v[n]!.length] },
  ]);
  await writeSafetensors(
    file,
    entries,
    (key) => {
      const [kind, ...rest] = key.split('/');
      return (kind === 'm' ? m.m : m.v)[rest.join('/')]!;
    },
    { format: 'scion-adamw', t: String(m.t) },
  );
}

export async function runExperiment(opts: ExperimentOptions, cb: ExperimentCallbacks = {}): Promise<ExperimentResults> {
  const log = cb.onLog ?? (() => undefined);
  const started = Date.now();
  const specs = parseRunSpecs(opts.methods);
  const out = opts.out;
  const dataInputs = [opts.data, opts.val, ...(opts.evalData ?? [])].map((spec) => ({ what: 'the dataset', path: parseDataSpec(spec).file }));
  const inputs = [{ what: 'the source model', path: opts.source }, ...dataInputs];
  if (opts.sourceMoments) inputs.push({ what: '--source-moments', path: opts.sourceMoments });
  await checkOutputDir({ out, kind: 'experiment', command: 'experiment', inputs, force: false });
  const { config: sourceConfig, raw: sourceRaw } = await readModelConfig(opts.source);
  const steps = opts.training.steps;
  const seed = opts.training.seed ?? 0;
  const growthSeed = opts.growthSeed ?? seed;
  const baseGrow: Omit<GrowOptions, 'method'> = { ...opts.target, seed: growthSeed };
  const needsDepth = opts.target.layers !== undefined;

  // 1. the target shape (from the first grown method, or zero-pad's plan for scratch only)
  const growOpts = (method: string): GrowOptions => {
    const o: GrowOptions = { ...baseGrow, method };
    const depthOnly = ['identity', 'stack', 'interpolate'].includes(method);
    if (needsDepth && !depthOnly) o.depth = opts.depth ?? 'identity';
    if (opts.noiseDb !== undefined && method === 'hypercloning') o.noiseDb = opts.noiseDb;
    return o;
  };
  const firstGrown = specs.find((s) => s.method !== 'scratch');
  const targetConfig = planGrowth(sourceConfig, growOpts(firstGrown?.method ?? 'zero-pad'));
  const r0 = resolveTrainOptions({ ...opts.training, model: opts.source, data: opts.data, out }, targetConfig);
  requireFits('train', targetConfig, r0.batch, r0.ctx, activeBackend()); // before anything is written
  await fs.mkdir(path.join(out, 'models'), { recursive: true });
  await writeOutputMarker(out, 'experiment', 'experiment');
  await fs.mkdir(path.join(out, 'runs'), { recursive: true });
  const evalCtx = Math.min(r0.ctx + 1, contextLength(targetConfig), contextLength(sourceConfig));
  const tokensPerStep = r0.batch * r0.ctx * r0.gradAccum;
  const rewarm = opts.rewarm ?? Math.max(r0.warmup, Math.round(steps / 10));

  // 2. datasets (the source's tokenizer is every grown model's tokenizer)
  const tok = await loadTokenizer(opts.source);
  const evalSpecs = [opts.val, ...(opts.evalData ?? []).filter((s) => s !== opts.val)];
  const sets: EvalSet[] = [];
  for (const spec of evalSpecs) {
    const ids = spreadWindows(await loadTokens(spec, tok, sourceConfig.vocabSize), evalCtx, r0.evalWindows);
    sets.push({ name: datasetName(spec), spec, ids });
  }
  const valName = sets[0]!.name;
  const evaluations: ModelScores[] = [];
  log(`evaluating the source on ${sets.length} dataset(s)`);
  const sourceScores = await scoreModel(opts.source, sets, evalCtx);
  evaluations.push({ model: path.resolve(opts.source), stage: 'source', scores: sourceScores });

  // 3. grow once per method (a method grown differently than last time cannot reuse its old runs)
  const grown = new Map<string, { dir: string; report: GrowthReport }>();
  const regrown = new Set<string>();
  for (const s of specs) {
    if (s.method === 'scratch' || grown.has(s.method)) continue;
    const dir = path.join(out, 'models', s.method);
    const before = await growthOptionsIn(dir);
    log(`growing with ${s.method} -> ${dir}`);
    const report = await growModelDir(opts.source, dir, {
      ...growOpts(s.method),
      checkData: parseDataSpec(opts.val).file,
      force: true,
      onLog: (l) => log(`  ${l}`),
    });
    grown.set(s.method, { dir, report });
    if (before !== undefined && before !== (await growthOptionsIn(dir))) regrown.add(s.method);
    evaluations.push({ model: dir, stage: 'grown', run: s.method, scores: await scoreModel(dir, sets, evalCtx) });
  }
  // the scratch run needs a folder with the target's config.json and the tokenizer
  const scratchDir = path.join(out, 'models', 'scratch');
  await fs.mkdir(scratchDir, { recursive: true });
  await fs.writeFile(path.join(scratchDir, 'config.json'), JSON.stringify(toHFConfig(targetConfig, sourceRaw), null, 2) + '\n');
  await copySideFiles(opts.source, scratchDir);

  // 4. optimizer moments for the +moments runs
  const momentFiles = new Map<string, { file: string; scale: number; t: number }>();
  let growthFlops = 0;
  const momentSteps = opts.momentSteps ?? 20;
  let sourceMomentsOrigin = '';
  if (specs.some((s) => s.after.includes('moments'))) {
    let srcMoments: Moments;
    if (opts.sourceMoments) {
      const { m, v, t } = await readMoments(opts.sourceMoments);
      srcMoments = { m: {}, v: {}, t };
      for (const [k, x] of Object.entries(m)) srcMoments.m[k] = (await x.data()) as Float32Array;
      for (const [k, x] of Object.entries(v)) srcMoments.v[k] = (await x.data()) as Float32Array;
      for (const x of [...Object.values(m), ...Object.values(v)]) x.dispose();
      sourceMomentsOrigin = opts.sourceMoments;
    } else {
      log(`estimating the source's AdamW moments from ${momentSteps} gradient evaluations`);
      const src = await loadModel(opts.source);
      try {
        const ids = await loadTokens(opts.data, tok, sourceConfig.vocabSize);
        srcMoments = await estimateMoments(sourceConfig, src.params, ids, {
          steps: momentSteps,
          batch: r0.batch,
          ctx: Math.min(r0.ctx, contextLength(sourceConfig)),
          beta1: r0.beta1,
          beta2: r0.beta2,
          clip: r0.clip,
          seed: subSeed(seed, 'moments'),
        });
      } finally {
        disposeParams(src.params);
      }
      growthFlops = trainFlops(sourceConfig, r0.ctx, momentSteps * r0.batch * r0.ctx);
      sourceMomentsOrigin = `estimated: ${momentSteps} gradient evaluations at the source's weights`;
    }
    for (const s of specs) {
      if (!s.after.includes('moments') || momentFiles.has(s.method)) continue;
      const carried = await carryMoments(sourceConfig, srcMoments, growOpts(s.method));
      const file = path.join(out, 'models', `${s.method}.moments.safetensors`);
      await writeShapedMoments(file, carried.moments, carried.target);
      momentFiles.set(s.method, { file, scale: carried.scale, t: carried.moments.t });
    }
  }

  // 5. train every run (in this process, or up to `jobs` at a time in child processes)
  const jobs = Math.max(1, opts.jobs ?? 1);
  const threads = threadsPerJob(jobs, resolveThreads(opts.threads)); // jobs x threads stays within the budget
  const backend = currentBackend()?.name ?? 'wasm';
  const planned: PlannedRun[] = [];
  for (const s of specs) {
    const runDir = path.join(out, 'runs', s.label);
    const isScratch = s.method === 'scratch';
    const train: TrainOptions = {
      ...opts.training,
      model: isScratch ? scratchDir : grown.get(s.method)!.dir,
      init: isScratch ? 'scratch' : 'pretrained',
      data: opts.data,
      val: opts.val,
      out: runDir,
      evalWindows: r0.evalWindows,
      // grown runs start at the peak rate unless re-warmed; carried moments need no warm-up
      ...(isScratch ? {} : { rewarm: s.after.includes('rewarm') ? rewarm : 0 }),
      ...(s.after.includes('moments') ? { moments: momentFiles.get(s.method)!.file } : {}),
      ...(s.after.includes('lowlr') ? { lr: r0.lr * LOW_LR_FACTOR, minLr: r0.minLr * LOW_LR_FACTOR } : {}),
      ...(s.after.includes('ramp') ? { maskRamp: rewarm } : {}),
    };
    const wanted = resolveTrainOptions(train, targetConfig);
    let reuse = false;
    if (existsSync(path.join(runDir, 'run.json'))) {
      const prev = await readRunConfig(runDir);
      if (sameRun(prev.options, wanted) && !regrown.has(s.method)) reuse = true;
    }
    const mode = reuse && existsSync(path.join(runDir, 'result.json')) ? 'done' : reuse ? 'resume' : 'fresh';
    planned.push({ spec: s, runDir, train, mode, warmup: isScratch ? r0.warmup : (train.rewarm ?? 0) });
  }
  if (jobs > 1)
    log(`training ${planned.filter((p) => p.mode !== 'done').length} run(s), up to ${jobs} at a time in child processes, ${threads} CPU thread(s) each`);
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  cb.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (cb.signal?.aborted) stop.abort();
  const statuses = new Map<string, 'completed' | 'interrupted'>();
  try {
    // scratch starts first: it defines the target, and its curve shows early whether the budget is enough
    const order = [...planned.filter((p) => p.spec.method === 'scratch'), ...planned.filter((p) => p.spec.method !== 'scratch')];
    await runPool(
      order,
      jobs,
      async (p) => {
        const i = planned.indexOf(p);
        const label = p.spec.label;
        cb.onRunStart?.(label, i, specs.length);
        if (p.mode === 'done') {
          log(`run ${label}: already complete, reusing ${p.runDir}`);
          statuses.set(label, 'completed');
          return;
        }
        log(`run ${label}: ${p.mode === 'resume' ? `resuming ${p.runDir}` : `training ${steps} steps -> ${p.runDir}`}`);
        const prefix = jobs > 1 ? `  [${label}] ` : '  ';
        const onProgress = (pr: TrainProgress) => cb.onProgress?.(label, pr);
        if (jobs > 1) {
          const status = await trainInChild(p.train, p.mode === 'resume', backend, {
            threads,
            onLog: (l) => log(prefix + l),
            onProgress,
            onPid: (pid) => log(`${prefix}process ${pid ?? '?'}`),
            signal: stop.signal,
          });
          statuses.set(label, status);
        } else {
          const tcb: TrainCallbacks = { onLog: (l) => log(prefix + l), onProgress, signal: stop.signal, threads };
          const result = p.mode === 'resume' ? await resumeRun(p.runDir, tcb) : await trainRun({ ...p.train, force: true }, tcb);
          statuses.set(label, result.status);
        }
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
  const trained = new Map<string, { metrics: Awaited<ReturnType<typeof readMetrics>>; seconds: number; finalModel: string; runDir: string; warmup: number }>();
  for (const p of planned) {
    const isScratch = p.spec.method === 'scratch';
    const summary = JSON.parse(await fs.readFile(path.join(p.runDir, 'result.json'), 'utf8')) as { seconds: number; finalModel: string };
    trained.set(p.spec.label, {
      metrics: await readMetrics(metricsFile(p.runDir)),
      seconds: summary.seconds,
      finalModel: summary.finalModel,
      runDir: p.runDir,
      warmup: p.warmup,
    });
    evaluations.push({
      model: summary.finalModel,
      stage: isScratch ? 'scratch' : 'trained',
      run: p.spec.label,
      scores: await scoreModel(summary.finalModel, sets, evalCtx),
    });
  }

  // 6. target, steps to target, speed-ups, FLOPs
  const curveOf = (label: string) =>
    trained
      .get(label)!
      .metrics.filter((m) => m.val_loss !== undefined)
      .map((m) => ({ step: m.step, val_loss: m.val_loss! }));
  const scratchCurve = curveOf('scratch');
  const targetVal = scratchCurve[scratchCurve.length - 1]!.val_loss;
  const scratchSteps = stepsToTarget(scratchCurve, targetVal)!;
  const sourceTokens = opts.sourceTokens ?? null;
  const sourceTrainFlops = sourceTokens !== null ? trainFlops(sourceConfig, contextLength(sourceConfig), sourceTokens) : null;
  const flopsPerStep = trainFlopsPerStep(targetConfig, r0.ctx, tokensPerStep);
  const runs: RunResult[] = specs.map((s) => {
    const t = trained.get(s.label)!;
    const curve = curveOf(s.label);
    const sp = speedupOf(curve, targetVal, scratchSteps, steps);
    const trainLines = t.metrics.filter((m) => m.train_loss !== undefined);
    const isScratch = s.method === 'scratch';
    const gFlops = s.after.includes('moments') && !opts.sourceMoments ? growthFlops : 0;
    const toTarget = sp.stepsToTarget === null ? null : sp.stepsToTarget * flopsPerStep;
    const g = grown.get(s.method)?.report;
    const mf = momentFiles.get(s.method);
    return {
      label: s.label,
      method: s.method,
      after: s.after,
      initial_val_loss: curve[0]!.val_loss,
      final_val_loss: curve[curve.length - 1]!.val_loss,
      final_train_loss: trainLines[trainLines.length - 1]!.train_loss!,
      steps,
      steps_to_target: sp.stepsToTarget,
      speedup: sp.speedup,
      speedup_kind: isScratch ? 'measured' : sp.kind,
      speedup_display: isScratch ? '1x (baseline)' : sp.display,
      flops_per_step: flopsPerStep,
      flops_to_target: toTarget,
      flops_to_target_with_source: toTarget === null ? null : isScratch ? toTarget : sourceTrainFlops === null ? null : toTarget + sourceTrainFlops + gFlops,
      growth_flops: gFlops,
      seconds: t.seconds,
      run_dir: t.runDir,
      curve,
      train_curve: trainLines.map((m) => ({ step: m.step, train_loss: m.train_loss! })),
      warmup: t.warmup,
      ...(g
        ? {
            growth: {
              ...(g.verdict ? { verdict: g.verdict } : {}),
              ...(g.check ? { loss_change: g.check.lossChange, max_abs_logit_diff: g.check.maxAbsLogitDiff } : {}),
            },
          }
        : {}),
      ...(mf ? { moments: { source: sourceMomentsOrigin, scale: mf.scale, t: mf.t } } : {}),
    };
  });

  const notes: string[] = [
    `Target: the scratch run's final validation loss on ${valName} (${targetVal.toFixed(4)}), which it first reached at step ${scratchSteps}.`,
    `Validation every ${r0.evalEvery} steps: steps-to-target is the first evaluated step at or below the target, so it is exact to ${r0.evalEvery} steps and an upper bound (speed-ups are conservative).`,
    "A run already at or below the target before training claims no speed-up: this budget says nothing about its speed (its curve and its loss at equal steps are what was measured; a budget at which scratch passes the source's loss, as npm run demo:long, measures it).",
    `Grown runs start at the peak learning rate; +rewarm runs warm it up again over ${rewarm} steps; scratch warms up over ${r0.warmup} steps. +moments runs start from the source's AdamW moments mapped through the operator. +lowlr runs use ${+LOW_LR_FACTOR.toFixed(3)} x the learning rates. msg+ramp runs ramp the new parts in over ${rewarm} steps.`,
    `FLOPs: 3 x forward FLOPs per token x tokens (${tokensPerStep} tokens per step); "with source" adds the source's training${sourceTokens !== null ? ` (${sourceTokens} tokens, ${formatFlops(sourceTrainFlops)})` : ' (unknown here: pass --source-tokens)'} and the moment estimate.`,
  ];
  const results: ExperimentResults = {
    format: 'scion-experiment/1',
    created: new Date().toISOString(),
    backend: currentBackend()?.name ?? 'unknown',
    source: {
      dir: path.resolve(opts.source),
      config: sourceConfig,
      parameters: parameterCount(sourceConfig),
      val_loss: sourceScores[valName]!.loss,
      training_tokens: sourceTokens,
      training_flops: sourceTrainFlops,
    },
    target: { spec: formatTarget(opts.target), config: targetConfig, parameters: parameterCount(targetConfig) },
    settings: {
      data: opts.data,
      val: opts.val,
      eval_data: evalSpecs,
      methods: specs.map((s) => s.label),
      steps,
      batch: r0.batch,
      ctx: r0.ctx,
      grad_accum: r0.gradAccum,
      lr: r0.lr,
      min_lr: r0.minLr,
      schedule: r0.schedule,
      warmup: r0.warmup,
      rewarm,
      weight_decay: r0.weightDecay,
      clip: r0.clip,
      seed,
      growth_seed: growthSeed,
      eval_every: r0.evalEvery,
      eval_windows: r0.evalWindows,
      eval_ctx: evalCtx,
      jobs,
      threads_per_run: threads,
      ...(needsDepth ? { depth: opts.depth ?? 'identity' } : {}),
      ...(opts.noiseDb !== undefined ? { hypercloning_noise_db: opts.noiseDb } : {}),
      ...(momentFiles.size > 0 ? { moment_source: sourceMomentsOrigin } : {}),
    },
    datasets: sets.map((s) => ({ name: s.name, spec: s.spec, tokens: s.ids.length, windows: Math.floor(s.ids.length / evalCtx) })),
    target_val_loss: targetVal,
    scratch_steps_to_target: scratchSteps,
    runs,
    evaluations,
    notes,
    seconds: (Date.now() - started) / 1000,
  };
  await atomicWriteJson(path.join(out, 'results.json'), results);
  await writeReports(out, results);
  return results;
}
