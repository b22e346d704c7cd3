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
import type { ExperimentWithSource } from './options.ts';

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
  /** Training runs at a time, and CPU threads per run (jobs x threads stays within the budget). */
  jobs: number;
  threads: number;
  /** The growth options of a method (the target, the depth mode, HyperCloning's noise). */
  growOptions(method: string): GrowOptions;
  /** The scratch run's model folder: the target's config.json and the source's tokenizer. */
  scratchDir: string;
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
    rewarm: opts.rewarm ?? Math.max(r0.warmup, Math.round(steps / 10)),
    jobs,
    threads: threadsPerJob(jobs, resolveThreads(opts.threads)),
    growOptions,
    scratchDir: path.join(out, 'models', 'scratch'),
  };
}
