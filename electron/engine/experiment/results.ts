/** The shape of results.json, which the reports and `--json` are made from. */
import type { ModelConfig } from '../models/config.ts';
import type { SpeedupKind } from './speedup.ts';
import type { TuningResults } from './tune-lr.ts';

export interface DatasetScore {
  loss: number;
  perplexity: number;
  accuracy: number;
}

/** One model evaluated on every eval dataset (keyed by dataset name). */
export interface ModelScores {
  model: string;
  stage: 'source' | 'grown' | 'trained' | 'scratch-init' | 'scratch';
  run?: string;
  scores: Record<string, DatasetScore>;
}

export interface RunResult {
  label: string;
  method: string;
  after: string[];
  initial_val_loss: number;
  final_val_loss: number;
  final_train_loss: number;
  steps: number;
  steps_to_target: number | null;
  speedup: number | null;
  speedup_kind: SpeedupKind;
  speedup_display: string;
  flops_per_step: number;
  flops_to_target: number | null;
  /** flops_to_target plus the source's training and the growth cost (null when the source's training is unknown). */
  flops_to_target_with_source: number | null;
  /** Scratch's FLOPs to the target / this run's FLOPs to it with the source's training and growth paid (null when either is unknown). */
  speedup_with_source?: number | null;
  growth_flops: number;
  seconds: number;
  run_dir: string;
  curve: { step: number; val_loss: number }[];
  train_curve: { step: number; train_loss: number }[];
  growth?: { verdict?: string; loss_change?: number; max_abs_logit_diff?: number };
  moments?: { source: string; scale: number; t: number };
  warmup: number;
  /** Steps at the peak rate after the warm-up before the decay (+hold runs; absent otherwise). */
  hold?: number;
  /** The run's peak learning rate (tuned, or the shared one; `+lowlr` included). */
  lr?: number;
}

/** The source at one age (`--source-ages`) and the runs grown from it; the last age is the source the experiment grew, and its runs are the experiment's own. */
export interface SourceAgeResult {
  /** The source run's step. */
  step: number;
  /** Tokens the source had trained on at that step, and their FLOPs (what "incl. source" adds). */
  tokens: number;
  training_flops: number;
  /** The source model's validation loss at that step (the first eval dataset). */
  val_loss: number;
  model: string;
  /** The source's last step: its runs are in `runs` too. */
  final: boolean;
  runs: RunResult[];
}

export interface ExperimentResults {
  format: 'scion-experiment/1';
  created: string;
  backend: string;
  source: {
    dir: string;
    config: ModelConfig;
    parameters: number;
    val_loss: number;
    training_tokens: number | null;
    training_flops: number | null;
    /** Present when the experiment trained the source (a preset's recipe): its run, data and wall time. */
    trained_here?: { run: string; data: string; seconds: number; steps: number; batch: number; ctx: number; lr: number; sampler: string };
  };
  target: { spec: string; config: ModelConfig; parameters: number };
  settings: Record<string, unknown>;
  datasets: { name: string; spec: string; tokens: number; windows: number }[];
  target_val_loss: number;
  scratch_steps_to_target: number;
  runs: RunResult[];
  evaluations: ModelScores[];
  /** Present when the rates were tuned (`--tune-lr`): every tuning run and each arm's chosen rate. */
  tuning?: TuningResults;
  /** Present with `--source-ages`: the source at each age and the runs grown from it, the last age last. */
  ages?: SourceAgeResult[];
  notes: string[];
  seconds: number;
}
