/**
 * The typed messages between the job runner and a worker process, and the job specs a
 * worker runs. Everything here is plain JSON (it crosses a process boundary).
 */
import type { ExperimentOptions, RunStatus } from '../engine/experiment/options.ts';
import type { ExperimentResults } from '../engine/experiment/results.ts';
import type { GrowOptions } from '../engine/growth/options.ts';
import type { TrainOptions } from '../engine/train/options.ts';
import type { TrainProgress } from '../engine/train/run.ts';
import type { EvalMetrics, GrowthCheck, HandoffSummary, Id, TrainSettings } from '../shared/contract.ts';

/** One line of a run's metrics.jsonl (step 0 holds only the initial val_loss). */
export interface WorkerMetric {
  step: number;
  train_loss?: number;
  lr?: number;
  tokens: number;
  time: number;
  val_loss?: number;
}

export interface EvaluateSpec {
  kind: 'evaluate';
  pairs: Array<{ modelId: Id; modelDir: string; datasetId: Id; dataFile: string }>;
  maxWindows?: number;
}

export interface GrowSpec {
  kind: 'grow';
  sourceDir: string;
  /** Where the grown model folder is written (a job folder; the runner moves it into the entry). */
  outDir: string;
  options: GrowOptions;
  /** A text/bin file to check function preservation on. */
  checkDataFile?: string;
}

export interface TrainSpec {
  kind: 'train';
  runDir: string;
  modelDir: string;
  dataFile: string;
  valFile?: string;
  settings: TrainSettings;
  /** Continue the run in `runDir` from its last checkpoint (`scion train --resume`). */
  resume: boolean;
}

/** One run of `scion experiment --jobs N`: exactly the options the in-process path trains with. */
export interface TrainRunSpec {
  kind: 'train-run';
  options: TrainOptions;
  /** Continue the run in `options.out` (else a fresh run replacing what is there). */
  resume: boolean;
}

export interface ExperimentSpec {
  kind: 'experiment';
  outDir: string;
  options: Omit<ExperimentOptions, 'out'>;
}

/** Text sampled from each model in turn, with one prompt, seed and sampling settings. */
export interface SampleSpec {
  kind: 'sample';
  models: Array<{ modelId: Id; modelDir: string }>;
  prompt: string;
  tokens: number;
  temperature: number;
  topK: number;
  seed: number;
}

/** `scion handoff`: the folder that trains a model on PyTorch with these options (write-handoff.ts). */
export interface HandoffSpec {
  kind: 'handoff';
  options: TrainOptions;
}

/** A test-only job that sleeps in steps (exercises queueing, cancel and crashes cheaply). */
export interface SleepSpec {
  kind: 'sleep';
  steps: number;
  stepMs: number;
  /** Fail at this step with an error. */
  failAt?: number;
}

/** What every job may carry: where tokenized datasets are cached (the project's own folder, so a referenced dataset's folder is never written to). */
export interface SpecCommon {
  tokenCacheDir?: string;
}

export type JobSpec = (EvaluateSpec | GrowSpec | TrainSpec | TrainRunSpec | ExperimentSpec | SampleSpec | HandoffSpec | SleepSpec) & SpecCommon;

export interface EvaluateResult {
  kind: 'evaluate';
  backend: string;
  evaluations: Array<{ modelId: Id; datasetId: Id; metrics: EvalMetrics; fingerprint: string; datasetTokens: number }>;
}
export interface GrowResult {
  kind: 'grow';
  backend: string;
  /** The growth report (growth.json), as the growth code wrote it. */
  report: Record<string, unknown>;
  check?: GrowthCheck;
}
export interface TrainResult {
  kind: 'train';
  backend: string;
  lastStep: number;
  /** True when the run stopped early on request (after a checkpoint). */
  stopped: boolean;
  /** The trained model folder, when the run finished. */
  modelDir?: string;
  finalTrainLoss?: number;
  finalValLoss?: number;
}
export interface TrainRunResult {
  kind: 'train-run';
  status: RunStatus;
  stopped: boolean;
}
export interface ExperimentResult {
  kind: 'experiment';
  /** results.json of the experiment. */
  report: ExperimentResults;
  stopped: boolean;
}
export interface SampleResult {
  kind: 'sample';
  backend: string;
  samples: Array<{ modelId: Id; text: string; tokens: number; seconds: number }>;
  stopped: boolean;
}
export interface HandoffJobResult extends HandoffSummary {
  kind: 'handoff';
}
export interface SleepResult {
  kind: 'sleep';
  steps: number;
  stopped: boolean;
}
export type JobResult = EvaluateResult | GrowResult | TrainResult | TrainRunResult | ExperimentResult | SampleResult | HandoffJobResult | SleepResult;

/** Runner -> worker. */
export type ToWorker = { type: 'start'; jobId: Id; spec: JobSpec; backend?: string } | { type: 'cancel' };

/** Worker -> runner. */
export type FromWorker =
  | { type: 'progress'; step: number; total: number; loss?: number; tokensPerSecond?: number; etaSeconds?: number }
  | { type: 'metric'; point: WorkerMetric }
  | { type: 'log'; line: string }
  /** The backend the worker got (what `auto` resolved to). */
  | { type: 'backend'; name: string }
  /** A piece of sampled text from one model. */
  | { type: 'text'; modelId: Id; piece: string }
  /** A train-run job's full progress (the experiment shows it per run). */
  | { type: 'run-progress'; progress: TrainProgress }
  | { type: 'result'; result: JobResult }
  | { type: 'error'; message: string; code: string };

export function isFromWorker(m: unknown): m is FromWorker {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'progress' || t === 'metric' || t === 'log' || t === 'backend' || t === 'text' || t === 'run-progress' || t === 'result' || t === 'error';
}
