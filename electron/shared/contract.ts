/**
 * The one typed contract between the UI (Electron renderer or a browser) and the engine side
 * (Electron main, or `scion serve`). Types only: both sides import from here, nothing else.
 * Every request is `{ method, params }` -> result; events stream from the engine side.
 * The engine side validates every payload with the zod schemas in electron/service/api-schemas.ts.
 */

export type Id = string;

/** Owned by the engine (the one projection of a config, models/config.ts); re-exported for the UI. */
export type { ModelShape } from '../engine/models/shape.ts';
import type { ModelShape } from '../engine/models/shape.ts';
import type { GrowOptions } from '../engine/growth/options.ts';
export type Family = ModelShape['family'];

export interface ProjectSummary {
  dir: string;
  name: string;
  schemaVersion: number;
  createdAt: string;
}

export interface ModelEntry {
  id: Id;
  kind: 'source' | 'grown' | 'trained' | 'scratch';
  name: string;
  /** Folder of the HF model (inside the project when copied/created, elsewhere when referenced). */
  path: string;
  referenced: boolean;
  shape: ModelShape;
  params: number;
  createdAt: string;
  /** For grown/trained models: where they came from. */
  lineage?: {
    parent: Id;
    method?: string;
    options?: Record<string, unknown>;
    seed?: number;
    growth?: GrowthCheck;
    trainingId?: Id;
  };
}

export interface DatasetEntry {
  id: Id;
  name: string;
  path: string;
  referenced: boolean;
  kind: 'text' | 'bin';
  /** Only this fraction of the file's tokens (added as `file.txt#0.9-1`: the last 10%). */
  split?: { from: number; to: number };
  bytes: number;
  /** Token counts per tokenizer fingerprint, filled when first tokenized. */
  tokens?: Record<string, number>;
  sample: string;
  createdAt: string;
}

export interface EvalMetrics {
  loss: number;
  /** Standard error of the loss over the windows (absent for one window, and in older entries). */
  lossStdErr?: number;
  /** Mean loss of each window (consecutive windows from the start), for paired comparisons. */
  windowLosses?: number[];
  perplexity: number;
  /** Share of next tokens predicted exactly (top-1). */
  accuracy: number;
  /** Predictions scored: windows x (ctx - 1). */
  tokens: number;
  windows: number;
  ctx: number;
}

export interface EvaluationEntry {
  id: Id;
  modelId: Id;
  datasetId: Id;
  metrics: EvalMetrics;
  backend: string;
  createdAt: string;
}

/** Owned by the engine (growth/check-summary.ts); re-exported for the UI. */
export type { GrowthCheck } from '../engine/growth/check-summary.ts';
import type { GrowthCheck } from '../engine/growth/check-summary.ts';

/** The engine's growth options the app offers (all but block placement, pad std and zero-fill), plus what to grow and where. */
export interface GrowRequest extends Omit<GrowOptions, 'insertAt' | 'padStd' | 'newEntries'> {
  sourceId: Id;
  name: string;
  checkDatasetId?: Id;
}

export interface TrainSettings {
  steps: number;
  batch: number;
  ctx: number;
  lr: number;
  minLr: number;
  warmup: number;
  schedule: 'cosine' | 'linear' | 'constant';
  weightDecay: number;
  clip: number;
  gradAccum: number;
  seed: number;
  evalEvery: number;
  checkpointEvery: number;
  /** Recompute each block's activations in the backward pass (less memory, about a third more compute). */
  recompute?: boolean;
}

export interface TrainRequest {
  modelId: Id;
  datasetId: Id;
  valDatasetId?: Id;
  name: string;
  settings: Partial<TrainSettings>;
}

/** `scion handoff` from the app: a folder that trains the model on PyTorch (torchrun) with these settings; `training.import` brings the run back. */
export interface HandoffRequest {
  modelId: Id;
  datasetId: Id;
  valDatasetId?: Id;
  /** The folder to write (new or empty; with `force`, a hand-off folder Scion wrote that holds no run). */
  out: string;
  settings: Partial<TrainSettings>;
  /** Masked growth: the new parts ramp in over this many steps (a model grown with msg). */
  maskRamp?: number;
  force?: boolean;
}

/** What a hand-off job wrote (its `result` event). */
export interface HandoffSummary {
  dir: string;
  trainTokens: number;
  valWindows: number;
  files: number;
}

/** A grow-vs-scratch experiment (`scion experiment`): every method grown, trained and compared with a from-scratch baseline. */
export interface ExperimentRequest {
  name: string;
  sourceId: Id;
  datasetId: Id;
  valDatasetId: Id;
  /** More datasets every model is evaluated on. */
  evalDatasetIds?: Id[];
  target: { hidden?: number; layers?: number; ffn?: number; heads?: number; kvHeads?: number };
  /** Comma list of run specs, e.g. 'hypercloning,zero-pad+rewarm,scratch'. */
  methods: string;
  /** HyperCloning's symmetry-breaking noise (signal-to-noise in dB; the function is kept). */
  noiseDb?: number;
  settings: Partial<TrainSettings>;
}

/** One step of a run's metrics.jsonl; step 0 has only the validation loss before training. */
export interface MetricPoint {
  step: number;
  train_loss?: number;
  lr: number;
  tokens: number;
  time: number;
  val_loss?: number;
}

export type SessionStatus = 'queued' | 'running' | 'paused' | 'cancelled' | 'interrupted' | 'failed' | 'done';

export interface TrainingEntry {
  id: Id;
  name: string;
  modelId: Id;
  datasetId: Id;
  valDatasetId?: Id;
  settings: TrainSettings;
  status: SessionStatus;
  runDir: string;
  lastStep: number;
  resultModelId?: Id;
  /** Validation loss before the first step, and after the last (when a validation set is given). */
  initialValLoss?: number;
  finalValLoss?: number;
  error?: string;
  /** Where it was trained: absent for Scion's own runs, 'handoff' for a run of `scion handoff`'s train.py brought back by `scion import-run`. */
  origin?: 'handoff';
  createdAt: string;
}

export type JobKind = 'grow' | 'train' | 'evaluate' | 'experiment' | 'sample' | 'import' | 'export' | 'handoff';

export interface JobInfo {
  id: Id;
  kind: JobKind;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';
  title: string;
  /** The entry the job produces or works on (training id, model id, ...). */
  entryId?: Id;
  /** The backend the job's worker ran on (what `auto` resolved to), once it started. */
  backend?: string;
  error?: string;
  createdAt: string;
}

export type JobEvent =
  | { type: 'progress'; jobId: Id; step: number; total: number; loss?: number; tokensPerSecond?: number; etaSeconds?: number }
  | { type: 'metric'; jobId: Id; point: MetricPoint }
  | { type: 'log'; jobId: Id; line: string }
  /** A piece of text sampled from `modelId` (a sample job streams each model's text in turn). */
  | { type: 'text'; jobId: Id; modelId: Id; piece: string }
  | { type: 'status'; jobId: Id; job: JobInfo }
  | { type: 'result'; jobId: Id; result: unknown }
  /** Another process (a CLI run with --project) changed the open project's entries: read project.state again. */
  | { type: 'project-changed'; dir: string };

export interface ProjectState {
  project: ProjectSummary;
  models: ModelEntry[];
  datasets: DatasetEntry[];
  evaluations: EvaluationEntry[];
  trainings: TrainingEntry[];
  jobs: JobInfo[];
  /** Entries that could not be read, with the reason (a damaged project still opens). */
  problems: Array<{ file: string; problem: string }>;
}

/** Owned by the engine's growth registry; re-exported here for the UI. */
export type { MethodInfo } from '../engine/growth/methods/info.ts';
import type { MethodInfo } from '../engine/growth/methods/info.ts';

export interface ShapePreview {
  ok: boolean;
  error?: string;
  shape?: ModelShape;
  params?: number;
  flopsPerToken?: number;
}

/** What a train, grow or evaluate form asks before the user clicks (memory.plan): the batch and ctx of a training, the models of an evaluation, a growth. */
export type MemoryPlanRequest =
  | { work: 'train'; modelId: Id; batch: number; ctx: number; recompute?: boolean }
  | { work: 'evaluate'; modelIds: Id[] }
  | ({ work: 'grow' } & Omit<GrowRequest, 'name'>);

/** The memory plan of a form: the estimate against what the jobs' backend holds, and the refusal (with what fits) when it does not. */
export interface MemoryPlan {
  ok: boolean;
  backend: string;
  /** How the backend is known: named in the settings, the project's last job ran on it, or the automatic choice assumed (no job ran yet). */
  backendFrom: 'settings' | 'last job' | 'assumed';
  /** Bytes the work needs, and bytes the backend holds. */
  bytes: number;
  capacity: number;
  /** One line for the form: the estimate, its parts and the backend's capacity. */
  line: string;
  /** Why it does not fit, naming the largest batch / ctx that does and a backend that would hold it; absent when it fits. */
  refusal?: string;
}

/** The same prompt, seed and sampling settings on each model (`scion generate`). */
export interface SampleRequest {
  modelIds: Id[];
  prompt: string;
  tokens: number;
  /** 0 is greedy. */
  temperature: number;
  /** 0 keeps every token. */
  topK: number;
  seed: number;
}

/** What a model folder holds (model.card). */
export interface ModelCard {
  files: Array<{ name: string; bytes: number }>;
  /** Size on disk of the folder's files. */
  bytes: number;
  /** The weights' stored dtypes (F32, F16, BF16). */
  dtypes: string[];
  /** growth.json of a grown model: method, shapes, options, the function check. */
  growth?: Record<string, unknown>;
  /** The model's folder is gone. */
  missing?: true;
}

/** Every request the UI can make: method name -> [params, result]. */
export interface ScionApi {
  'app.info': [Record<string, never>, { version: string; backend: string; mode: 'electron' | 'browser' }];
  'project.create': [{ dir: string; name: string }, ProjectState];
  'project.open': [{ dir: string }, ProjectState];
  'project.recent': [Record<string, never>, string[]];
  'project.state': [Record<string, never>, ProjectState];
  'model.import': [{ path: string; name: string; copy: boolean }, ModelEntry];
  'model.delete': [{ id: Id; confirm: true }, ProjectState];
  'model.export': [{ id: Id; dir: string }, { dir: string }];
  'model.card': [{ id: Id }, ModelCard];
  /** Writes the hand-off folder in a job (its result: HandoffSummary). */
  'model.handoff': [HandoffRequest, JobInfo];
  'dataset.add': [{ path: string; name: string; copy: boolean }, DatasetEntry];
  'dataset.delete': [{ id: Id; confirm: true }, ProjectState];
  'grow.methods': [Record<string, never>, MethodInfo[]];
  'grow.preview': [Omit<GrowRequest, 'name'>, ShapePreview];
  'grow.start': [GrowRequest, JobInfo];
  /** The memory line of the train, grow and evaluate forms, as they are filled in. */
  'memory.plan': [MemoryPlanRequest, MemoryPlan];
  'evaluate.start': [{ modelIds: Id[]; datasetIds: Id[]; maxWindows?: number }, JobInfo];
  'train.start': [TrainRequest, JobInfo];
  'train.resume': [{ trainingId: Id }, JobInfo];
  'train.metrics': [{ trainingId: Id }, MetricPoint[]];
  /** Records the run a hand-off folder's train.py wrote (the folder or its run/) as a training session of its model; again: updates it. */
  'training.import': [{ dir: string }, TrainingEntry];
  'training.rename': [{ id: Id; name: string }, ProjectState];
  /** Removes the session and its run folder (checkpoints, metrics); a model it produced stays. */
  'training.delete': [{ id: Id; confirm: true }, ProjectState];
  /** Renames a job (an experiment's title). */
  'job.rename': [{ jobId: Id; title: string }, JobInfo];
  /** Removes a finished job and its folder (an experiment's results and runs). */
  'job.delete': [{ jobId: Id; confirm: true }, ProjectState];
  /** `pause: true` marks a training session paused rather than cancelled (both resume with train.resume). */
  'job.cancel': [{ jobId: Id; pause?: boolean }, JobInfo];
  'job.list': [Record<string, never>, JobInfo[]];
  /** The job's log (jobs/<id>/log.txt), its last 256 KiB. */
  'job.log': [{ jobId: Id }, { lines: string[]; truncated: boolean }];
  'experiment.start': [ExperimentRequest, JobInfo];
  /** Samples text from each model; the text streams as `text` events, then the job's result. */
  'sample.start': [SampleRequest, JobInfo];
  /** results.json of a finished experiment job (format 'scion-experiment/1'). */
  'experiment.results': [{ jobId: Id }, Record<string, unknown>];
}

export type ApiMethod = keyof ScionApi;
export type ApiParams<M extends ApiMethod> = ScionApi[M][0];
export type ApiResult<M extends ApiMethod> = ScionApi[M][1];

/** What a transport carries. */
export interface RpcRequest<M extends ApiMethod = ApiMethod> {
  id: number;
  method: M;
  params: ApiParams<M>;
}
export type RpcResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { message: string; code: string } };
export interface RpcEvent {
  event: JobEvent;
}

/** The object the preload exposes as `window.scion` and the browser client implements. */
export interface ScionBridge {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  onEvent(listener: (e: JobEvent) => void): () => void;
  /** Native dialogs in Electron; undefined in the browser (the UI shows a path field instead). */
  pickPath?(kind: 'folder' | 'file'): Promise<string | undefined>;
}
