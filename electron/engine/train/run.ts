/**
 * A resumable training run in a folder:
 *   run.json          the resolved options, the model's shape, the backend, what model-files/ holds
 *   model-files/      the model's tokenizer and generation files (+ growth record, mask), see model-files.ts
 *   metrics.jsonl     one line per step (see metrics.ts)
 *   checkpoints/      step-N/ folders (see checkpoint.ts), the newest `keepCheckpoints` kept
 *   final/            the trained model, a Hugging Face folder, when the run completes
 *   result.json       the summary, when the run completes
 *   .scion-lock       while a process trains in it (see run-lock.ts)
 * `trainRun` starts a run; `resumeRun` continues one from its newest valid checkpoint with
 * the weights, moments, step and Rng state (= data position) restored, so the losses after
 * the checkpoint are the same as those of a run that was never stopped. Aborting the
 * signal finishes the current step, writes a checkpoint and returns 'interrupted'.
 */
import * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { currentBackend } from '../backend.ts';
import { ScionError } from '../errors.ts';
import { activeBackend, requireFits } from '../memory/fit.ts';
import { atomicWriteJson, tempSibling } from '../io/atomic.ts';
import { isLockName } from '../io/folder-lock.ts';
import { checkOutputDir, type OutputRequest, writeOutputMarker } from '../io/out-dir.ts';
import { contextLength, modelShape, type ModelConfig } from '../models/config.ts';
import { parameterCount } from '../models/family.ts';
import { loadModel, readModelConfig, saveModel } from '../models/model.ts';
import type { Params } from '../models/params.ts';
import { checkSideFiles } from '../models/side-files.ts';
import { loadTokenizer } from '../tokenizer/tokenizer.ts';
import { AdamW } from './adamw.ts';
import { checkSequentialData, sampleStarts, sequentialStarts } from './batches.ts';
import {
  latestValidCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  readMoments,
  removeCheckpointLeftovers,
  saveCheckpoint,
  type CheckpointState,
} from './checkpoint.ts';
import { loadTokens, parseDataSpec, spreadWindows } from './data.ts';
import { ensureGradients } from './gradients.ts';
import { disposeMasks, MASK_FILE } from '../growth/mask.ts';
import { MaskRamp, RAW_WEIGHTS_FILE } from '../growth/mask-ramp.ts';
import { initParams } from './init.ts';
import { adoptModelFiles, checkedModelFiles, keepModelFiles, modelFilesDir, type ModelFilesRecord } from './model-files.ts';
import { withRunLock } from './run-lock.ts';
import { appendMetric, type MetricLine, readMetrics, truncateMetrics } from './metrics.ts';
import { resolveTrainOptions, scheduleOf, type ResolvedTrainOptions, type TrainOptions } from './options.ts';
import { Rng, subSeed } from '../rng.ts';
import { learningRate } from './schedule.ts';
import { makeScaler, scaledStep } from './loss-scale.ts';
import { requireF16 } from '../webgpu/precision.ts';
import { toVariables, type Variables } from './step.ts';
import { evaluateWith, startThreads, stepWith } from './parallel/start.ts';
import type { ThreadPool } from './parallel/pool.ts';
import { resolveThreads } from './parallel/threads.ts';

export interface RunConfig {
  version: 1;
  created: string;
  options: ResolvedTrainOptions;
  model: { family: string; hidden: number; layers: number; heads: number; ffn: number; ctx: number; vocab: number; parameters: number };
  backend: string;
  /** What model-files/ holds and the tokenizer of the data (absent in runs of older versions). */
  modelFiles?: ModelFilesRecord;
  /** Set by a hand-off folder's train.py (PyTorch): such a run continues there, not in Scion. */
  handoff?: { manifest: string };
}

export interface TrainProgress {
  step: number;
  steps: number;
  trainLoss: number;
  lr: number;
  tokens: number;
  /** Seconds of training so far and the estimate of what is left. */
  elapsed: number;
  eta: number;
}

export interface TrainCallbacks {
  onMetric?: (m: MetricLine) => void;
  onProgress?: (p: TrainProgress) => void;
  onLog?: (line: string) => void;
  /** Aborting finishes the current step, writes a checkpoint and resolves with status 'interrupted'. */
  signal?: AbortSignal;
  /** CPU threads for the steps and validations (default: SCION_THREADS, else every core; not part of the run). */
  threads?: number;
}

export interface TrainResult {
  status: 'completed' | 'interrupted';
  runDir: string;
  step: number;
  steps: number;
  tokens: number;
  seconds: number;
  initialValLoss?: number;
  finalTrainLoss?: number;
  finalValLoss?: number;
  /** The trained model folder (completed runs). */
  finalModel?: string;
  /** The checkpoint written last. */
  checkpoint?: string;
  metrics: MetricLine[];
}

const RUN_FILE = 'run.json';
const METRICS_FILE = 'metrics.jsonl';

export function metricsFile(runDir: string): string {
  return path.join(runDir, METRICS_FILE);
}

export async function readRunConfig(runDir: string): Promise<RunConfig> {
  const file = path.join(runDir, RUN_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new ScionError(`${runDir}: not a training run (${RUN_FILE} is missing)`, 'E_RUN', file);
  }
  try {
    const cfg = JSON.parse(text) as RunConfig;
    if (cfg.version !== 1 || typeof cfg.options?.steps !== 'number') throw new Error('unknown layout');
    return cfg;
  } catch (e) {
    throw new ScionError(`${file}: not a valid run file (${(e as Error).message})`, 'E_RUN', file);
  }
}

interface Live {
  runDir: string;
  o: ResolvedTrainOptions;
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  vars: Variables;
  optimizer: AdamW;
  state: CheckpointState;
  rng: Rng;
  /** The run's model-files/: the tokenizer to read the data with and to copy into checkpoints. */
  tokenizerDir: string;
  /** Masked growth: the new entries ramp in over `o.maskRamp` steps. */
  ramp?: MaskRamp;
  /** Compute threads (parallel/), when the run uses more than one. */
  pool?: ThreadPool;
  /** The datasets a fresh start already read to check them (the same tokenizer as model-files/); else read in loop. */
  data?: RunData;
}

function dispose(live: Pick<Live, 'vars' | 'optimizer' | 'ramp'>): void {
  live.optimizer.dispose();
  for (const v of Object.values(live.vars)) v.dispose();
  live.ramp?.dispose();
}

/** The mask ramp of a run with --mask-ramp, its mask read from `dir`. */
async function loadRamp(dir: string, o: ResolvedTrainOptions, config: ModelConfig): Promise<MaskRamp | undefined> {
  return o.maskRamp !== undefined ? MaskRamp.load(dir, config, o.maskRamp) : undefined;
}

function makeOptimizer(o: ResolvedTrainOptions, vars: Variables): AdamW {
  return new AdamW(vars, { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
}

async function loadStartParams(o: ResolvedTrainOptions, config: ModelConfig): Promise<Params> {
  if (o.init === 'scratch') return initParams(config, subSeed(o.seed, 'init'));
  return (await loadModel(o.model)).params;
}

/** Applies carried-over moments from `o.moments` (shapes checked against the model). */
async function applyMoments(file: string, optimizer: AdamW, vars: Variables): Promise<void> {
  const { m, v, t } = await readMoments(file);
  try {
    for (const [name, p] of Object.entries(vars)) {
      for (const [kind, rec] of [
        ['m', m],
        ['v', v],
      ] as const) {
        const x = rec[name];
        if (!x) throw new ScionError(`${file}: has no ${kind}/${name} for the model's parameter '${name}'`, 'E_CHECKPOINT', file);
        if (x.shape.join(',') !== p.shape.join(','))
          throw new ScionError(
            `${file}: ${kind}/${name} has shape [${x.shape.join(', ')}], the model's parameter has [${p.shape.join(', ')}]`,
            'E_CHECKPOINT',
            file,
          );
      }
    }
    optimizer.setState(m, v, t);
  } finally {
    for (const x of [...Object.values(m), ...Object.values(v)]) x.dispose();
  }
}

/** What `trainRun` loads before it writes anything: the start weights, the optimizer (moments applied), the mask ramp. */
interface Start {
  vars: Variables;
  optimizer: AdamW;
  ramp?: MaskRamp;
}

async function prepareStart(o: ResolvedTrainOptions, config: ModelConfig, rampDir: string): Promise<Start> {
  let vars: Variables = {};
  let optimizer: AdamW | undefined;
  let ramp: MaskRamp | undefined;
  try {
    ramp = await loadRamp(rampDir, o, config);
    vars = toVariables(await loadStartParams(o, config));
    optimizer = makeOptimizer(o, vars);
    if (o.moments) await applyMoments(o.moments, optimizer, vars);
    return { vars, optimizer, ...(ramp ? { ramp } : {}) };
  } catch (e) {
    optimizer?.dispose();
    for (const v of Object.values(vars)) v.dispose();
    ramp?.dispose();
    throw e;
  }
}

/** Refuses datasets too short for one training window (or one validation window), naming the file; returns their ids. */
async function checkData(o: ResolvedTrainOptions, config: ModelConfig, tok: Awaited<ReturnType<typeof loadTokenizer>>): Promise<RunData> {
  const train = await loadTokens(o.data, tok, config.vocabSize);
  if (train.length < o.ctx + 1)
    throw new ScionError(`${o.data}: ${train.length} tokens, fewer than one training window of --ctx + 1 = ${o.ctx + 1}`, 'E_DATASET', o.data);
  if (!o.val) return { train };
  const evalCtx = Math.min(o.ctx + 1, contextLength(config));
  const val = await loadTokens(o.val, tok, config.vocabSize);
  if (val.length < evalCtx) throw new ScionError(`${o.val}: ${val.length} tokens, fewer than one validation window of ${evalCtx}`, 'E_DATASET', o.val);
  return { train, val };
}

/** The run's datasets as token ids (validation: all of it, before spreadWindows). */
interface RunData {
  train: Uint32Array;
  val?: Uint32Array;
}

/** Reads the run's datasets with the tokenizer in `tokenizerDir`. */
async function readData(o: ResolvedTrainOptions, config: ModelConfig, tokenizerDir: string): Promise<RunData> {
  const tok = await loadTokenizer(tokenizerDir);
  const train = await loadTokens(o.data, tok, config.vocabSize);
  return o.val ? { train, val: await loadTokens(o.val, tok, config.vocabSize) } : { train };
}

/**
 * Starts a training run in `opts.out`. Everything is loaded and checked before anything is
 * written (the output-folder policy of io/out-dir.ts, the model, tokenizer, datasets, moments,
 * mask); a run that still fails before its first checkpoint leaves the folder as it was (an
 * existing run replaced with `force` is put back), so the same command can simply be run again.
 */
export async function trainRun(opts: TrainOptions, callbacks: TrainCallbacks = {}): Promise<TrainResult> {
  const { config, raw } = await readModelConfig(opts.model);
  const o = resolveTrainOptions(opts, config);
  if (o.precision === 'f16') requireF16('scion train');
  const cb = planRun(config, o, callbacks, o.model); // before anything is written or allocated
  const request: OutputRequest = {
    out: o.out,
    kind: 'run',
    command: 'train',
    inputs: [
      { what: 'the model', path: o.model },
      { what: '--data', path: parseDataSpec(o.data).file },
      ...(o.val ? [{ what: '--val', path: parseDataSpec(o.val).file }] : []),
      ...(o.moments ? [{ what: '--moments', path: o.moments }] : []),
    ],
    force: opts.force === true,
  };
  await checkOutputDir(request); // refused before the folder is made or locked
  return withRunLock(o.out, true, () => startRun(o, config, raw, request, cb));
}

/**
 * The memory plan of a run (memory/fit.ts), refused before anything is written: returns the
 * callbacks with `threads` lowered to what the plan holds (each compute thread holds a replica).
 */
function planRun(config: ModelConfig, o: ResolvedTrainOptions, cb: TrainCallbacks, file: string): TrainCallbacks {
  const asked = resolveThreads(cb.threads);
  const plan = requireFits('train', config, o.batch, o.ctx, activeBackend(), file, { recompute: o.recompute === true, threads: asked, gradAccum: o.gradAccum });
  if (plan.note) cb.onLog?.(`memory plan: ${plan.note}`);
  return plan.threads < asked ? { ...cb, threads: plan.threads } : cb;
}

/** trainRun, holding the run folder's lock. */
async function startRun(
  o: ResolvedTrainOptions,
  config: ModelConfig,
  raw: Record<string, unknown>,
  request: OutputRequest,
  cb: TrainCallbacks,
): Promise<TrainResult> {
  const runDir = o.out;
  const found = await checkOutputDir(request); // again: another process may have written there before we held the lock
  await checkSideFiles(o.model);
  const tok = await loadTokenizer(o.model);
  const data = await checkData(o, config, tok);
  const start = await prepareStart(o, config, o.model);
  let aside: string | undefined;
  try {
    if (found === 'replace') aside = await moveRunAside(runDir);
    await fs.mkdir(runDir, { recursive: true });
    await ensureGradients();
    const modelFiles = await keepModelFiles(runDir, o.model, o.maskRamp !== undefined);
    const shape = modelShape(config);
    const runConfig: RunConfig = {
      version: 1,
      created: new Date().toISOString(),
      options: o,
      model: { ...shape, parameters: parameterCount(config) },
      backend: currentBackend()?.name ?? tf.getBackend(),
      modelFiles,
    };
    await writeOutputMarker(runDir, 'run', 'train');
    await atomicWriteJson(path.join(runDir, RUN_FILE), runConfig);
    await fs.writeFile(metricsFile(runDir), '');
  } catch (e) {
    dispose(start);
    await undoFreshRun(runDir, found, aside);
    throw e;
  }
  try {
    const result = await startFresh(runDir, o, config, raw, cb, start, modelFilesDir(runDir), data);
    if (aside) await fs.rm(aside, { recursive: true, force: true });
    return result;
  } catch (e) {
    if ((await listCheckpoints(runDir)).length === 0) await undoFreshRun(runDir, found, aside);
    else if (aside) await fs.rm(aside, { recursive: true, force: true });
    throw e;
  }
}

/** Moves an old run's files (not the folder, which holds this process's lock) into a sibling, `.RUN.tmp-PID-HEX-old`. */
async function moveRunAside(runDir: string): Promise<string> {
  const aside = `${tempSibling(runDir)}-old`;
  await fs.mkdir(aside);
  for (const name of await fs.readdir(runDir)) if (!isLockName(name)) await fs.rename(path.join(runDir, name), path.join(aside, name));
  return aside;
}

/** Removes what a run that failed before its first checkpoint wrote, and puts back the run it replaced. */
async function undoFreshRun(runDir: string, found: 'new' | 'empty' | 'replace' | 'continue', aside: string | undefined): Promise<void> {
  for (const name of await fs.readdir(runDir).catch(() => [])) if (!isLockName(name)) await fs.rm(path.join(runDir, name), { recursive: true, force: true });
  if (aside) {
    for (const name of await fs.readdir(aside)) await fs.rename(path.join(aside, name), path.join(runDir, name));
    await fs.rmdir(aside);
  }
  if (found === 'new') await fs.rmdir(runDir).catch(() => undefined);
}

function startFresh(
  runDir: string,
  o: ResolvedTrainOptions,
  config: ModelConfig,
  raw: Record<string, unknown>,
  cb: TrainCallbacks,
  start: Start,
  tokenizerDir: string,
  data?: RunData,
): Promise<TrainResult> {
  const state: CheckpointState = { version: 1, step: 0, optimizerStep: start.optimizer.t, rng: subSeed(o.seed, 'data'), batches: 0, tokens: 0, time: 0 };
  return loop({ runDir, o, config, rawConfig: raw, ...start, state, rng: Rng.fromState(state.rng), tokenizerDir, ...(data ? { data } : {}) }, cb);
}

/** Continues the run in `runDir` from its newest valid checkpoint (or from the start if it has none), holding its lock. */
export async function resumeRun(runDir: string, cb: TrainCallbacks = {}): Promise<TrainResult> {
  const run = await readRunConfig(runDir); // not a run: say so before taking its lock
  if (run.options.precision === 'f16') requireF16('scion train --resume');
  if (run.handoff)
    throw new ScionError(`${runDir}: this run was trained on PyTorch from a hand-off folder; continue it there with ./launch.sh --resume`, 'E_RUN', runDir);
  return withRunLock(runDir, false, () => resumeLocked(runDir, cb));
}

/** The run's model-files/ checked against run.json, made first for a run of an older version (which had none). */
async function runModelFiles(runDir: string, run: RunConfig, checkpointModel: string | undefined): Promise<ModelFilesRecord> {
  if (run.modelFiles) return run.modelFiles;
  const modelFiles = await adoptModelFiles(runDir, run.options.model, checkpointModel, run.options.maskRamp !== undefined);
  await atomicWriteJson(path.join(runDir, RUN_FILE), { ...run, modelFiles } satisfies RunConfig);
  return modelFiles;
}

async function resumeLocked(runDir: string, callbacks: TrainCallbacks): Promise<TrainResult> {
  let cb = callbacks;
  const run = await readRunConfig(runDir);
  const o = run.options;
  await ensureGradients();
  await removeCheckpointLeftovers(runDir);
  const ckpt = await latestValidCheckpoint(runDir, (dir, why) => {
    cb.onLog?.(`checkpoint ${dir} is corrupt (${why}); using the one before it`);
    void fs.rename(dir, path.join(path.dirname(dir), `corrupt-${path.basename(dir)}`)).catch(() => undefined);
  });
  const modelFiles = await runModelFiles(runDir, run, ckpt && path.join(ckpt.dir, 'model'));
  const tokenizerDir = await checkedModelFiles(runDir, modelFiles);
  const rampDir = modelFiles.files.includes(MASK_FILE) ? tokenizerDir : o.model;
  if (!ckpt) {
    cb.onLog?.(`${runDir}: no valid checkpoint; starting again from step 0`);
    const { config, raw } = await readModelConfig(o.model);
    cb = planRun(config, o, cb, o.model);
    const start = await prepareStart(o, config, rampDir);
    await fs.writeFile(metricsFile(runDir), '');
    return startFresh(runDir, o, config, raw, cb, start, tokenizerDir);
  }
  cb.onLog?.(`resuming ${runDir} from step ${ckpt.state.step}`);
  const modelDir = path.join(ckpt.dir, 'model');
  cb = planRun((await readModelConfig(modelDir)).config, o, cb, modelDir); // the backend may differ from the run's first
  const model = await loadModel(modelDir);
  const vars = toVariables(model.params); // W_eff of the checkpoint's step
  const optimizer = makeOptimizer(o, vars);
  let ramp: MaskRamp | undefined;
  try {
    const { m, v, t } = await readMoments(path.join(ckpt.dir, 'optimizer.safetensors'));
    try {
      optimizer.setState(m, v, t);
    } finally {
      for (const x of [...Object.values(m), ...Object.values(v)]) x.dispose();
    }
    ramp = await loadRamp(rampDir, o, model.config);
    // inside the ramp the checkpoint's model is W_eff; the raw W of the masked tensors is beside it
    if (ramp?.active(ckpt.state.step)) await ramp.restoreRaw(ckpt.dir, vars);
  } catch (e) {
    dispose({ vars, optimizer, ...(ramp ? { ramp } : {}) });
    throw e;
  }
  await truncateMetrics(metricsFile(runDir), ckpt.state.step);
  const state = { ...ckpt.state };
  return loop(
    {
      runDir,
      o,
      config: model.config,
      rawConfig: model.rawConfig,
      vars,
      optimizer,
      state,
      rng: Rng.fromState(state.rng),
      tokenizerDir,
      ...(ramp ? { ramp } : {}),
    },
    cb,
  );
}

async function writeCheckpoint(live: Live): Promise<string> {
  live.state.rng = live.rng.state;
  live.state.optimizerStep = live.optimizer.t;
  const { ramp, vars } = live;
  const rampOn = ramp?.active(live.state.step) === true;
  const dir = await withEffective(live, (params) =>
    saveCheckpoint(live.runDir, {
      config: live.config,
      rawConfig: live.rawConfig,
      params,
      m: live.optimizer.m,
      v: live.optimizer.v,
      state: live.state,
      tokenizerFrom: live.tokenizerDir,
      ...(rampOn ? { extra: (tmp: string) => ramp!.writeRaw(path.join(tmp, RAW_WEIGHTS_FILE), vars) } : {}),
    }),
  );
  await pruneCheckpoints(live.runDir, live.o.keepCheckpoints);
  return dir;
}

/** Runs `fn` on the weights the user sees: W_eff during a mask ramp, else the variables. */
async function withEffective<T>(live: Live, fn: (params: Params) => Promise<T>): Promise<T> {
  if (!live.ramp) return fn(live.vars);
  const params = live.ramp.effective(live.vars, live.state.step);
  try {
    return await fn(params);
  } finally {
    live.ramp.release(params, live.vars);
  }
}

async function validationLoss(live: Live, valIds: Uint32Array, evalCtx: number): Promise<number> {
  const r = await withEffective(live, (params) =>
    evaluateWith(live.pool, { config: live.config, params, rawConfig: live.rawConfig }, valIds, { ctx: evalCtx }),
  );
  return r.loss;
}

async function loop(live: Live, cb: TrainCallbacks): Promise<TrainResult> {
  const { o, runDir } = live;
  try {
    const data = live.data ?? (await readData(o, live.config, live.tokenizerDir));
    delete live.data; // the loop keeps only what it uses (trainIds, the spread valIds)
    const trainIds = data.train;
    const evalCtx = Math.min(o.ctx + 1, contextLength(live.config));
    const valIds = data.val ? spreadWindows(data.val, evalCtx, o.evalWindows) : undefined;
    const file = metricsFile(runDir);
    const metrics = await readMetrics(file);
    const sched = scheduleOf(o);
    const tokensPerStep = o.batch * o.ctx * o.gradAccum;
    checkSequentialData(o, trainIds.length);
    const rows = live.state.step < o.steps ? o.batch * o.gradAccum : 0; // a finished run needs no threads
    const threads = await startThreads(resolveThreads(cb.threads), live.config, live.vars, rows);
    live.pool = threads.pool;
    if (threads.pool) cb.onLog?.(`training on ${threads.threads} CPU threads`);
    if (live.state.step === 0 && valIds && !metrics.some((m) => m.step === 0)) {
      const m: MetricLine = { step: 0, tokens: 0, time: 0, val_loss: await validationLoss(live, valIds, evalCtx) };
      await appendMetric(file, m);
      metrics.push(m);
      cb.onMetric?.(m);
    }
    let checkpoint: string | undefined;
    let lastCheckpointStep = -1;
    const sessionStart = { time: live.state.time, step: live.state.step };
    const scaler = makeScaler(o, live.state);
    if (scaler) cb.onLog?.(`precision f16: matrix products in f16, loss scale ${scaler.scale} (doubles after ${scaler.every} steps without overflow)`);
    while (live.state.step < o.steps) {
      const step = live.state.step + 1;
      const lr = learningRate(step - 1, sched);
      const t0 = performance.now();
      const starts: number[][] = [];
      for (let k = 0; k < o.gradAccum; k++)
        starts.push(
          o.sampler === 'sequential'
            ? sequentialStarts(live.state.batches + k, trainIds.length, o.ctx, o.batch)
            : sampleStarts(live.rng, trainIds.length, o.ctx, o.batch),
        );
      live.state.batches += o.gradAccum;
      const multipliers = live.ramp?.multipliers(live.state.step);
      let r;
      try {
        r = await scaledStep(scaler, step, (lossScale) =>
          stepWith(live.pool, {
            cfg: live.config,
            vars: live.vars,
            optimizer: live.optimizer,
            starts,
            ids: trainIds,
            ctx: o.ctx,
            lr,
            clip: o.clip,
            ...(multipliers ? { multipliers } : {}),
            ...(o.recompute ? { recompute: true } : {}),
            ...(lossScale !== undefined ? { lossScale } : {}),
          }),
        );
      } finally {
        if (multipliers) disposeMasks(multipliers);
      }
      if (!Number.isFinite(r.loss))
        throw new ScionError(`training diverged: the loss is ${r.loss} at step ${step} (try a lower --lr or --clip)`, 'E_DIVERGED', runDir);
      if (r.message) cb.onLog?.(r.message);
      if (scaler) live.state.lossScale = scaler.state();
      live.state.step = step;
      live.state.tokens += tokensPerStep;
      live.state.time += (performance.now() - t0) / 1000;
      const m: MetricLine = { step, train_loss: r.loss, lr, tokens: live.state.tokens, time: Number(live.state.time.toFixed(3)) };
      if (!r.skipped) m.grad_norm = r.gradNorm;
      if (r.lossScale !== undefined) m.loss_scale = r.lossScale;
      if (r.skipped) m.skipped = true;
      if (valIds && (step % o.evalEvery === 0 || step === o.steps)) m.val_loss = await validationLoss(live, valIds, evalCtx);
      await appendMetric(file, m);
      metrics.push(m);
      cb.onMetric?.(m);
      const rate = (live.state.time - sessionStart.time) / Math.max(1, step - sessionStart.step);
      cb.onProgress?.({ step, steps: o.steps, trainLoss: r.loss, lr, tokens: live.state.tokens, elapsed: live.state.time, eta: rate * (o.steps - step) });
      const aborted = cb.signal?.aborted === true;
      if (step % o.checkpointEvery === 0 || step === o.steps || aborted) {
        checkpoint = await writeCheckpoint(live);
        lastCheckpointStep = step;
      }
      if (aborted) break;
    }
    if (cb.signal?.aborted && live.state.step < o.steps && lastCheckpointStep !== live.state.step) {
      checkpoint = await writeCheckpoint(live);
    }
    const completed = live.state.step >= o.steps;
    const valLines = metrics.filter((x) => x.val_loss !== undefined);
    const trainLines = metrics.filter((x) => x.train_loss !== undefined);
    const result: TrainResult = {
      status: completed ? 'completed' : 'interrupted',
      runDir,
      step: live.state.step,
      steps: o.steps,
      tokens: live.state.tokens,
      seconds: live.state.time,
      metrics,
      ...(valLines.length > 0 && valLines[0]!.step === 0 ? { initialValLoss: valLines[0]!.val_loss! } : {}),
      ...(trainLines.length > 0 ? { finalTrainLoss: trainLines[trainLines.length - 1]!.train_loss! } : {}),
      ...(valLines.length > 0 ? { finalValLoss: valLines[valLines.length - 1]!.val_loss! } : {}),
      ...(checkpoint ? { checkpoint } : {}),
    };
    if (completed) {
      const finalDir = path.join(runDir, 'final');
      await withEffective(live, (params) => saveModel(finalDir, live.config, params, live.rawConfig, { copyFrom: live.tokenizerDir }));
      result.finalModel = finalDir;
      const summary: Partial<TrainResult> = { ...result };
      delete summary.metrics;
      await atomicWriteJson(path.join(runDir, 'result.json'), summary);
    }
    return result;
  } finally {
    await live.pool?.close();
    dispose(live);
  }
}
