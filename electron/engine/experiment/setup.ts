/**
 * Step 1 of an experiment: what every later step shares. The target shape (from the first
 * grown method's plan, or zero-pad's for scratch only), the resolved training options (refused
 * here when they do not fit the backend, before anything is written), the evaluation context,
 * the threads per run, and the growth options of each method.
 */
import * as path from 'node:path';
import type { GrowOptions } from '../growth/index.ts';
import { DEPTH_MODES } from '../growth/options.ts';
import { contextLength, type ModelConfig } from '../models/config.ts';
import { planGrowth } from '../growth/plan.ts';
import { readModelConfig } from '../models/model.ts';
import { activeBackend, requireFits } from '../memory/fit.ts';
import { resolveThreads, threadsPerJob } from '../train/parallel/threads.ts';
import { type ResolvedTrainOptions, resolveTrainOptions } from '../train/options.ts';
import type { RunSpec } from './methods.ts';
import type { ExperimentOptions, ExperimentWithSource } from './options.ts';
import { ScionError } from '../errors.ts';

export interface ExperimentSetup {
  opts: ExperimentWithSource;
  log: (line: string) => void;
  specs: RunSpec[];
  out: string;
  sourceConfig: ModelConfig;
  /** The source's config.json as read (its extra keys go into every model's config). */
  sourceRaw: Record<string, unknown>;
  targetConfig: ModelConfig;
  steps: number;
  seed: number;
  growthSeed: number;
  /** The training options every run shares, resolved against the target (batch, ctx, lr, ...). */
  r0: ResolvedTrainOptions;
  /** Tokens per evaluation window: the training context plus the next token, within both models' context. */
  evalCtx: number;
  tokensPerStep: number;
  /** Warm-up of the +rewarm runs (and the ramp of msg+ramp). */
  rewarm: number;
  /** Constant phase of the +hold runs. */
  hold: number;
  /** Training runs at a time, and CPU threads per run (jobs x threads stays within the budget). */
  jobs: number;
  threads: number;
  /** The growth options of a method (the target, the depth mode, HyperCloning's noise). */
  growOptions(method: string): GrowOptions;
  /** The scratch run's model folder: the target's config.json and the source's tokenizer. */
  scratchDir: string;
}

/**
 * The re-warm-up of the +rewarm runs (default max(--warmup, steps / 10)) and the constant phase
 * of the +hold runs (default a tenth of the budget).
 */
export function afterGrowthSteps(opts: Pick<ExperimentOptions, 'rewarm' | 'hold' | 'training'>): { rewarm: number; hold: number } {
  const tenth = Math.max(1, Math.round(opts.training.steps / 10));
  return { rewarm: opts.rewarm ?? Math.max(opts.training.warmup ?? 0, tenth), hold: opts.hold ?? tenth };
}

/** Refuses a +hold whose constant phase (after the +rewarm re-warm-up) does not fit in the budget, before anything runs. */
export function checkHold(opts: Pick<ExperimentOptions, 'rewarm' | 'hold' | 'training'>, specs: RunSpec[]): void {
  const { rewarm, hold } = afterGrowthSteps(opts);
  const steps = opts.training.steps;
  if (!Number.isInteger(hold) || hold < 0) throw new ScionError(`--hold must be an integer >= 0 (steps), got ${hold}`, 'E_USAGE');
  for (const s of specs.filter((s) => s.after.includes('hold'))) {
    const w = s.after.includes('rewarm') ? rewarm : 0;
    if (w + hold > steps)
      throw new ScionError(
        `--methods: '${s.label}': its constant phase (--hold ${hold})${w ? ` after the re-warm-up (${w})` : ''} does not fit in --steps ${steps}`,
        'E_USAGE',
      );
  }
}

export async function setUpExperiment(opts: ExperimentWithSource, specs: RunSpec[], log: (line: string) => void): Promise<ExperimentSetup> {
  const out = opts.out;
  const { config: sourceConfig, raw: sourceRaw } = await readModelConfig(opts.source);
  const steps = opts.training.steps;
  const seed = opts.training.seed ?? 0;
  const growthSeed = opts.growthSeed ?? seed;
  const baseGrow: Omit<GrowOptions, 'method'> = { ...opts.target, seed: growthSeed };
  const needsDepth = opts.target.layers !== undefined;
  const growOptions = (method: string): GrowOptions => {
    const o: GrowOptions = { ...baseGrow, method };
    const depthOnly = (DEPTH_MODES as readonly string[]).includes(method);
    if (needsDepth && !depthOnly) o.depth = opts.depth ?? 'identity';
    if (opts.noiseDb !== undefined && method === 'hypercloning') o.noiseDb = opts.noiseDb;
    return o;
  };
  const firstGrown = specs.find((s) => s.method !== 'scratch');
  const targetConfig = planGrowth(sourceConfig, growOptions(firstGrown?.method ?? 'zero-pad'));
  const r0 = resolveTrainOptions({ ...opts.training, model: opts.source, data: opts.data, out }, targetConfig);
  requireFits('train', targetConfig, r0.batch, r0.ctx, activeBackend()); // before anything is written
  const jobs = Math.max(1, opts.jobs ?? 1);
  return {
    opts,
    log,
    specs,
    out,
    sourceConfig,
    sourceRaw,
    targetConfig,
    steps,
    seed,
    growthSeed,
    r0,
    evalCtx: Math.min(r0.ctx + 1, contextLength(targetConfig), contextLength(sourceConfig)),
    tokensPerStep: r0.batch * r0.ctx * r0.gradAccum,
    ...afterGrowthSteps(opts),
    jobs,
    threads: threadsPerJob(jobs, resolveThreads(opts.threads)),
    growOptions,
    scratchDir: path.join(out, 'models', 'scratch'),
  };
}
