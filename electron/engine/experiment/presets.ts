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

/** The runs every preset compares with scratch: HyperCloning (20 dB noise) and the seed paper's zero pad, the best of the reduced run (docs/experiments.md), and a third of the rate. */
const METHODS = 'scratch,hypercloning,hypercloning+rewarm,zero-pad,zero-pad+lowlr';

export const EXPERIMENT_PRESETS: Record<string, ExperimentPreset> = {
  'papers-cpu': {
    summary:
      'd64x2 source (1M tokens) -> d128x4 target (6.8x the parameters), 3000 steps of 16 x 64 fresh tokens; ~60 min with --jobs 2 on 2 quiet cores (estimate)',
    source: gpt2(64, 2, 4, 128),
    sourceTraining: { steps: 1000, batch: 16, ctx: 64, lr: 3e-3, warmup: 50, sampler: 'sequential', evalEvery: 100, evalWindows: 128, seed: 0 },
    target: { hidden: 128, layers: 4 },
    methods: METHODS,
    noiseDb: 20,
    rewarm: 100,
    training: { steps: 3000, batch: 16, ctx: 64, lr: 3e-3, warmup: 100, sampler: 'sequential', evalEvery: 100, evalWindows: 128, seed: 0 },
    slices: { source: [0, 0.05], train: [0.05, 0.98], val: [0.98, 1] },
  },
  'papers-gpu': {
    summary:
      'd128x4 source (3.3M tokens) -> d256x8 target (7.6x the parameters), 4000 steps of 32 x 128 fresh tokens; sized for ~10 min on one GPU (not measured)',
    source: gpt2(128, 4, 4, 128),
    sourceTraining: { steps: 800, batch: 32, ctx: 128, lr: 2e-3, warmup: 50, sampler: 'sequential', evalEvery: 100, evalWindows: 256, seed: 0 },
    target: { hidden: 256, layers: 8 },
    methods: METHODS,
    noiseDb: 20,
    rewarm: 200,
    training: { steps: 4000, batch: 32, ctx: 128, lr: 2e-3, warmup: 200, sampler: 'sequential', evalEvery: 100, evalWindows: 256, seed: 0 },
    slices: { source: [0, 0.12], train: [0.12, 0.98], val: [0.98, 1] },
  },
  'papers-smoke': {
    summary: 'd32x1 source (51k tokens) -> d64x2 target, 400 steps of 8 x 32: the same recipe in minutes, to check a machine and the pipeline',
    source: gpt2(32, 1, 2, 64),
    sourceTraining: { steps: 200, batch: 8, ctx: 32, lr: 3e-3, warmup: 20, sampler: 'sequential', evalEvery: 25, evalWindows: 64, seed: 0 },
    target: { hidden: 64, layers: 2 },
    methods: 'scratch,hypercloning,hypercloning+lowlr',
    noiseDb: 20,
    rewarm: 40,
    training: { steps: 400, batch: 8, ctx: 32, lr: 3e-3, warmup: 20, sampler: 'sequential', evalEvery: 25, evalWindows: 64, seed: 0 },
    slices: { source: [0, 0.01], train: [0.01, 0.98], val: [0.98, 1] },
  },
};

export const PRESET_NAMES = Object.keys(EXPERIMENT_PRESETS);

/** What a user may change on top of a preset. */
export interface PresetOverrides {
  methods?: string;
  training?: Partial<TrainingSettings>;
  sourceSteps?: number;
  noiseDb?: number;
  rewarm?: number;
  evalData?: string[];
  jobs?: number;
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
    },
    data: slice(corpus, p.slices.train),
    val: slice(corpus, p.slices.val),
    target: p.target,
    methods: o.methods ?? p.methods,
    training: { ...p.training, ...o.training },
    noiseDb: o.noiseDb ?? p.noiseDb,
    rewarm: o.rewarm ?? p.rewarm,
    out,
    ...(o.evalData ? { evalData: o.evalData } : {}),
    ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
  };
}
