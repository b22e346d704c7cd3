/**
 * Ready-made experiments in the regime the growth papers measure (issue 18): the source is
 * trained by the experiment on its own slice of the corpus for a fraction of the target's
 * budget (so its cost is counted both ways), the target has >= 4x its parameters (twice the
 * width and twice the depth), and every run reads fresh tokens in the same order (the
 * sequential sampler: no token is seen twice, and the source's slice, the target runs' slice
 * and the validation slice never overlap). The corpus is one text file read as bytes (vocab
 * 256; `scripts/make-corpus.sh` builds GCIDE's 34.9M bytes). Sizes: docs/experiments.md.
 */
import { ScionError } from '../errors.ts';
import type { GPT2Config } from '../models/config.ts';
import { shippedDatasets } from '../resources.ts';
import type { ExperimentOptions, TrainingSettings } from './options.ts';
import type { TargetShape } from './target.ts';

export interface ExperimentPreset {
  summary: string;
  /** The source's architecture (bytes: vocab 256) and its training. */
  source: GPT2Config;
  sourceTraining: TrainingSettings;
  target: TargetShape;
  methods: string;
  noiseDb: number;
  rewarm: number;
  training: TrainingSettings;
  /** Also evaluate source, grown and final models on the shipped corpora (resources/data: three unlike texts). */
  evalShipped: boolean;
  /** Corpus fractions [from, to) of the source's data, the target runs' data and validation. */
  slices: { source: [number, number]; train: [number, number]; val: [number, number] };
}

const gpt2 = (d: number, layers: number, heads: number, ctx: number): GPT2Config => ({
  family: 'gpt2',
  vocabSize: 256,
  nPositions: ctx,
  nEmbd: d,
  nLayer: layers,
  nHead: heads,
  nInner: 4 * d,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
});

/**
 * The runs every preset compares with scratch: HyperCloning (20 dB noise), with and without a re-warm-up, and the
 * seed paper's zero pad, all at scratch's rate (a third of it, `+lowlr`, never reached scratch's final loss in the
 * measured papers-cpu run: docs/experiments.md).
 */
const METHODS = 'scratch,hypercloning,hypercloning+rewarm,zero-pad';

/** What sets one preset apart; the source and the target runs share batch, context, rate and evaluation. */
interface PresetSpec {
  summary: string;
  source: GPT2Config;
  target: TargetShape;
  methods?: string;
  rewarm: number;
  shared: Required<Pick<TrainingSettings, 'batch' | 'ctx' | 'lr' | 'evalEvery' | 'evalWindows'>>;
  sourceRun: { steps: number; warmup: number };
  targetRun: { steps: number; warmup: number };
  /** The corpus fraction [0, sourceShare) the source reads; the target runs read up to 0.98, validation the rest. */
  sourceShare: number;
  /** Evaluate on the shipped corpora too (default yes; the smoke preset skips them to stay quick). */
  evalShipped?: boolean;
}

/** A preset in the papers' regime: fresh tokens in order (sequential sampler), seed 0, HyperCloning's noise at 20 dB. */
function preset(s: PresetSpec): ExperimentPreset {
  const training = (run: { steps: number; warmup: number }): TrainingSettings => ({ ...run, ...s.shared, sampler: 'sequential', seed: 0 });
  return {
    summary: s.summary,
    source: s.source,
    sourceTraining: training(s.sourceRun),
    target: s.target,
    methods: s.methods ?? METHODS,
    noiseDb: 20,
    rewarm: s.rewarm,
    training: training(s.targetRun),
    evalShipped: s.evalShipped ?? true,
    slices: { source: [0, s.sourceShare], train: [s.sourceShare, 0.98], val: [0.98, 1] },
  };
}

export const EXPERIMENT_PRESETS: Record<string, ExperimentPreset> = {
  'papers-cpu': preset({
    summary:
      'd64x2 source (1M tokens) -> d128x4 target (6.8x the parameters), 3000 steps of 16 x 64 fresh tokens; ~63 CPU-minutes (about 35 min with --jobs 2 on 2 free cores)',
    source: gpt2(64, 2, 4, 128),
    target: { hidden: 128, layers: 4 },
    rewarm: 100,
    shared: { batch: 16, ctx: 64, lr: 3e-3, evalEvery: 100, evalWindows: 128 },
    sourceRun: { steps: 1000, warmup: 50 },
    targetRun: { steps: 3000, warmup: 100 },
    sourceShare: 0.05,
  }),
  'papers-gpu': preset({
    summary:
      'd128x4 source (3.3M tokens) -> d256x8 target (7.6x the parameters), 4000 steps of 32 x 128 fresh tokens; sized for ~10 min on one GPU (not measured)',
    source: gpt2(128, 4, 4, 128),
    target: { hidden: 256, layers: 8 },
    rewarm: 200,
    shared: { batch: 32, ctx: 128, lr: 2e-3, evalEvery: 100, evalWindows: 256 },
    sourceRun: { steps: 800, warmup: 50 },
    targetRun: { steps: 4000, warmup: 200 },
    sourceShare: 0.12,
  }),
  'papers-smoke': preset({
    summary: 'd32x1 source (51k tokens) -> d64x2 target, 400 steps of 8 x 32: the same recipe in minutes, to check a machine and the pipeline',
    source: gpt2(32, 1, 2, 64),
    target: { hidden: 64, layers: 2 },
    methods: 'scratch,hypercloning,hypercloning+lowlr',
    rewarm: 40,
    shared: { batch: 8, ctx: 32, lr: 3e-3, evalEvery: 25, evalWindows: 64 },
    sourceRun: { steps: 200, warmup: 20 },
    targetRun: { steps: 400, warmup: 20 },
    sourceShare: 0.01,
    evalShipped: false,
  }),
};

export const PRESET_NAMES = Object.keys(EXPERIMENT_PRESETS);

/** What a user may change on top of a preset. */
export interface PresetOverrides {
  methods?: string;
  training?: Partial<TrainingSettings>;
  sourceSteps?: number;
  noiseDb?: number;
  rewarm?: number;
  /** The +hold runs' constant phase (default a tenth of the target budget, as without a preset). */
  hold?: number;
  evalData?: string[];
  jobs?: number;
  /** A tokenizer folder to read the corpus with instead of bytes (`scion tokenizer train` on the corpus's training part). */
  tokenizer?: string;
}

const slice = (corpus: string, [a, b]: [number, number]) => `${corpus}#${a}-${b}`;

/** The experiment a preset describes, on `corpus` (a text file read as bytes), into `out`. */
export function presetExperiment(name: string, corpus: string, out: string, o: PresetOverrides = {}): ExperimentOptions {
  const p = EXPERIMENT_PRESETS[name];
  if (!p) throw new ScionError(`--preset: unknown preset '${name}' (choose from ${PRESET_NAMES.join(', ')})`, 'E_USAGE');
  return {
    sourceRecipe: {
      config: p.source,
      data: slice(corpus, p.slices.source),
      training: { ...p.sourceTraining, ...(o.sourceSteps !== undefined ? { steps: o.sourceSteps } : {}) },
      ...(o.tokenizer !== undefined ? { tokenizer: o.tokenizer } : {}),
    },
    data: slice(corpus, p.slices.train),
    val: slice(corpus, p.slices.val),
    target: p.target,
    methods: o.methods ?? p.methods,
    training: { ...p.training, ...o.training },
    noiseDb: o.noiseDb ?? p.noiseDb,
    rewarm: o.rewarm ?? p.rewarm,
    ...(o.hold !== undefined ? { hold: o.hold } : {}),
    out,
    ...(o.evalData ? { evalData: o.evalData } : p.evalShipped ? { evalData: shippedDatasets() } : {}),
    ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
  };
}
