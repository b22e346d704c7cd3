/** What `scion experiment` (and the app's experiment job) asks for, and how it reports as it goes. */
import type { DepthMode } from '../growth/index.ts';
import type { TrainOptions } from '../train/options.ts';
import type { TrainProgress } from '../train/run.ts';
import type { TargetShape } from './target.ts';
import type { ModelConfig } from '../models/config.ts';
import type { TuneLr } from './tune-lr.ts';

export type TrainingSettings = Omit<TrainOptions, 'model' | 'data' | 'val' | 'out' | 'init' | 'moments' | 'rewarm' | 'hold' | 'force'>;

export interface ExperimentOptions {
  /** The source model folder; absent when `sourceRecipe` trains it. */
  source?: string;
  /** Train the source first, as part of the experiment (its tokens count as its cost); replaces `source`. */
  sourceRecipe?: SourceRecipe;
  data: string;
  val: string;
  /** More datasets to evaluate every model on (the val set is always one). */
  evalData?: string[];
  target: TargetShape;
  /** Comma list of run specs (see methods.ts). */
  methods: string;
  training: TrainingSettings;
  /** Tune every arm's peak rate on a short budget first (each tuning run recorded), then train each at its best rate. */
  tuneLr?: TuneLr;
  /**
   * Source steps at which to grow too (`--source-ages`, with a source recipe): the source run keeps
   * its model at each, and each earlier age is grown with `ageMethods` and trained like the other runs.
   */
  sourceAges?: number[];
  /** Comma list of the --methods runs grown at each source age (default: the first grown one). */
  ageMethods?: string;
  /** Warm-up of the `+rewarm` runs (default: max(--warmup, steps / 10)). */
  rewarm?: number;
  /** Steps at the peak rate of the `+hold` runs after growth (after the re-warm-up of `+rewarm`), before the decay (default: steps / 10). */
  hold?: number;
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
   * trains in another process (`ExperimentCallbacks.trainer`); the metrics are the same as with
   * 1 (same code, options, seed).
   */
  jobs?: number;
  /** CPU threads for the whole experiment (default: SCION_THREADS, else every core); each of the `jobs` runs gets an equal share. */
  threads?: number;
  out: string;
}

/** How an experiment trains its own source (a preset): step 0, train-source.ts. */
export interface SourceRecipe {
  /** The source's architecture; trained from a random initialisation with the training seed. */
  config: ModelConfig;
  /** The source's training data (a dataset spec, e.g. `corpus.txt#0-0.05`: a slice no target run reads). */
  data: string;
  training: TrainingSettings;
  /** A tokenizer folder (tokenizer.json, e.g. from `scion tokenizer train`): the source, and so every model, reads the corpus through it; its vocabulary size replaces the config's. Default: bytes. */
  tokenizer?: string;
}

/** The options once the source is known (given, or trained by the recipe). */
export type ExperimentWithSource = ExperimentOptions & { source: string };

export interface ExperimentCallbacks {
  onLog?: (line: string) => void;
  onRunStart?: (label: string, index: number, total: number) => void;
  onProgress?: (label: string, p: TrainProgress) => void;
  signal?: AbortSignal;
  /** Trains a run in another process: needed when `jobs` > 1. */
  trainer?: RunTrainer;
}

/** How one run ended: finished, or stopped on request after a checkpoint. */
export type RunStatus = 'completed' | 'interrupted';

/**
 * Trains (`resume` false: a fresh run into `options.out`, replacing what is there) or resumes
 * one run in another process; resolves with its status, rejects with the run's error. The
 * engine starts no processes itself: `scion experiment --jobs N` passes the job workers'
 * (electron/jobs/train-runs.ts).
 */
export type RunTrainer = (
  options: TrainOptions,
  resume: boolean,
  cb: {
    onLog?: (line: string) => void;
    onProgress?: (p: TrainProgress) => void;
    onPid?: (pid: number | undefined) => void;
    signal?: AbortSignal;
    /** CPU threads for the run (its SCION_THREADS). */
    threads?: number;
  },
) => Promise<RunStatus>;
