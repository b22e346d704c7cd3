/**
 * Step 6 of an experiment: the target (the scratch run's final validation loss), every run's
 * steps to it, speed-up and FLOPs, and results.json with the notes that say how to read them.
 */
import * as path from 'node:path';
import { currentBackend } from '../backend.ts';
import { contextLength } from '../models/config.ts';
import { parameterCount } from '../models/family.ts';
import type { MomentFiles } from './carry-moments.ts';
import { formatFlops, trainFlops, trainFlopsPerStep } from './flops.ts';
import type { GrownModels } from './grow-models.ts';
import { LOW_LR_FACTOR, type RunSpec } from './methods.ts';
import type { ExperimentResults, ModelScores, RunResult, SourceAgeResult } from './results.ts';
import type { AgeModels } from './age-runs.ts';
import { ageLabel, type AgePlan } from './source-ages.ts';
import type { EvalSet } from './score.ts';
import type { ExperimentSetup } from './setup.ts';
import { speedupOf, stepsToTarget } from './speedup.ts';
import { formatTarget } from './target.ts';
import type { PlannedRun, TrainedRun } from './train-runs.ts';
import type { TuningResults } from './tune-lr.ts';

export interface Comparison {
  /** The source's own run, when the experiment trained it (a source recipe). */
  sourceRun?: { dir: string; seconds: number; data: string; steps: number; batch: number; ctx: number; lr: number; sampler: string };
  sets: EvalSet[];
  sourceValLoss: number;
  evaluations: ModelScores[];
  models: GrownModels;
  moments: MomentFiles;
  trained: Map<string, TrainedRun>;
  /** The full runs as planned (their rates). */
  planned: PlannedRun[];
  started: number;
  tuning?: TuningResults;
  /** The runs grown at earlier source ages (`--source-ages`); their trained runs are in `trained` and `planned`. */
  ages?: { plan: AgePlan; grown: AgeModels[] };
}

export function compareRuns(x: ExperimentSetup, c: Comparison): ExperimentResults {
  const { opts, r0, steps, tokensPerStep, rewarm, hold } = x;
  const valName = c.sets[0]!.name;
  const curveOf = (label: string) =>
    c.trained
      .get(label)!
      .metrics.filter((m) => m.val_loss !== undefined)
      .map((m) => ({ step: m.step, val_loss: m.val_loss! }));
  const scratchCurve = curveOf('scratch');
  const targetVal = scratchCurve[scratchCurve.length - 1]!.val_loss;
  const scratchSteps = stepsToTarget(scratchCurve, targetVal)!;
  const sourceTokens = opts.sourceTokens ?? null;
  // a source trained here is charged at the context it trained at (attention's share), a given one at its n_positions
  const sourceCtx = opts.sourceRecipe?.training.ctx ?? contextLength(x.sourceConfig);
  const sourceFlopsOf = (tokens: number) => trainFlops(x.sourceConfig, sourceCtx, tokens);
  const sourceTrainFlops = sourceTokens !== null ? sourceFlopsOf(sourceTokens) : null;
  const flopsPerStep = trainFlopsPerStep(x.targetConfig, r0.ctx, tokensPerStep);
  /** The run `label` of spec `s`, grown into `models`, from a source whose training cost `sourceFlops`. */
  const runOf = (s: RunSpec, label: string, models: GrownModels, sourceFlops: number | null): RunResult => {
    const t = c.trained.get(label)!;
    const curve = curveOf(label);
    const sp = speedupOf(curve, targetVal, scratchSteps, steps);
    const trainLines = t.metrics.filter((m) => m.train_loss !== undefined);
    const isScratch = s.method === 'scratch';
    const gFlops = s.after.includes('moments') && !opts.sourceMoments ? c.moments.growthFlops : 0;
    const toTarget = sp.stepsToTarget === null ? null : sp.stepsToTarget * flopsPerStep;
    const withSource = toTarget === null ? null : isScratch ? toTarget : sourceFlops === null ? null : toTarget + sourceFlops + gFlops;
    const g = models.grown.get(s.method)?.report;
    const mf = c.moments.files.get(s.method);
    return {
      label,
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
      flops_to_target_with_source: withSource,
      speedup_with_source: withSource === null || withSource === 0 ? null : (scratchSteps * flopsPerStep) / withSource,
      growth_flops: gFlops,
      seconds: t.seconds,
      run_dir: t.runDir,
      curve,
      train_curve: trainLines.map((m) => ({ step: m.step, train_loss: m.train_loss! })),
      warmup: t.warmup,
      ...(t.hold > 0 ? { hold: t.hold } : {}),
      lr: c.planned.find((p) => p.spec.label === label)?.train.lr ?? r0.lr,
      ...(g
        ? {
            growth: {
              ...(g.verdict ? { verdict: g.verdict } : {}),
              ...(g.check ? { loss_change: g.check.lossChange, max_abs_logit_diff: g.check.maxAbsLogitDiff } : {}),
            },
          }
        : {}),
      ...(mf ? { moments: { source: c.moments.origin, scale: mf.scale, t: mf.t } } : {}),
    };
  };
  const runs = x.specs.map((s) => runOf(s, s.label, c.models, sourceTrainFlops));
  const ages: SourceAgeResult[] | undefined = c.ages && [
    ...c.ages.grown.map((a) => {
      const flops = sourceFlopsOf(a.age.tokens);
      const runsAt = c.ages!.plan.specs.map((s) => runOf(s, ageLabel(s.label, a.age.step), a.models, flops));
      return { step: a.age.step, tokens: a.age.tokens, training_flops: flops, val_loss: a.valLoss, model: a.age.dir, final: false, runs: runsAt };
    }),
    {
      step: c.sourceRun!.steps,
      tokens: sourceTokens!,
      training_flops: sourceTrainFlops!,
      val_loss: c.sourceValLoss,
      model: path.resolve(opts.source),
      final: true,
      runs: c.ages.plan.specs.map((s) => runs.find((r) => r.label === s.label)!),
    },
  ];

  const notes: string[] = [
    `Target: the scratch run's final validation loss on ${valName} (${targetVal.toFixed(4)}), which it first reached at step ${scratchSteps}.`,
    `Validation every ${r0.evalEvery} steps: steps-to-target is the first evaluated step at or below the target, so it is exact to ${r0.evalEvery} steps and an upper bound (speed-ups are conservative).`,
    "A run already at or below the target before training claims no speed-up: this budget says nothing about its speed (its curve and its loss at equal steps are what was measured; a budget at which scratch passes the source's loss, as npm run demo:long, measures it).",
    `Grown runs start at the peak learning rate; +rewarm runs warm it up again over ${rewarm} steps; scratch warms up over ${r0.warmup} steps. +moments runs start from the source's AdamW moments mapped through the operator. +lowlr runs use ${+LOW_LR_FACTOR.toFixed(3)} x the learning rates. msg+ramp runs ramp the new parts in over ${rewarm} steps.${x.specs.some((s) => s.after.includes('hold')) ? ` +hold runs stay at their peak rate for ${hold} steps after growth (after the re-warm-up of +rewarm), then decay over the remaining steps to the same final rate at the same last step as scratch.` : ''}`,
    ...(c.tuning
      ? [
          `Learning rates tuned (--tune-lr): every run trained ${c.tuning.steps} steps (its schedule shrunk to that length, on the first ${c.tuning.steps} steps' tokens) at each of ${c.tuning.lrs.join(', ')}; each run above uses the rate whose tuning run ended lowest: ${Object.entries(
            c.tuning.chosen,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}. The tuning runs' cost is not in the FLOPs columns (every arm paid the same ${c.tuning.lrs.length} x ${c.tuning.steps} steps).`,
        ]
      : []),
    ...(c.ages
      ? [
          `Source ages (--source-ages): the source run's own model at step(s) ${c.ages.grown.map((a) => a.age.step).join(', ')} (kept from its checkpoint as it trained: the same run mid-schedule, not a shorter source with its own schedule), grown with ${c.ages.plan.specs.map((s) => s.label).join(', ')} and trained like the other runs (same data, order and budget${c.tuning ? ", each at its arm's tuned rate" : ''}); "incl. source" counts the source's training up to that age. The last age is the experiment's own runs.`,
        ]
      : []),
    `FLOPs: 3 x forward FLOPs per token x tokens (${tokensPerStep} tokens per step); "with source" adds the source's training${sourceTokens !== null ? ` (${sourceTokens} tokens, ${formatFlops(sourceTrainFlops)})` : ' (unknown here: pass --source-tokens)'} and the moment estimate.`,
  ];
  return {
    format: 'scion-experiment/1',
    created: new Date().toISOString(),
    backend: currentBackend()?.name ?? 'unknown',
    source: {
      dir: path.resolve(opts.source),
      config: x.sourceConfig,
      parameters: parameterCount(x.sourceConfig),
      val_loss: c.sourceValLoss,
      training_tokens: sourceTokens,
      training_flops: sourceTrainFlops,
      ...(c.sourceRun
        ? {
            trained_here: {
              run: c.sourceRun.dir,
              data: c.sourceRun.data,
              seconds: c.sourceRun.seconds,
              steps: c.sourceRun.steps,
              batch: c.sourceRun.batch,
              ctx: c.sourceRun.ctx,
              lr: c.sourceRun.lr,
              sampler: c.sourceRun.sampler,
            },
          }
        : {}),
    },
    target: { spec: formatTarget(opts.target), config: x.targetConfig, parameters: parameterCount(x.targetConfig) },
    settings: {
      data: opts.data,
      val: opts.val,
      eval_data: c.sets.map((s) => s.spec),
      methods: x.specs.map((s) => s.label),
      steps,
      batch: r0.batch,
      ctx: r0.ctx,
      grad_accum: r0.gradAccum,
      lr: r0.lr,
      min_lr: r0.minLr,
      schedule: r0.schedule,
      sampler: r0.sampler ?? 'random',
      warmup: r0.warmup,
      rewarm,
      ...(x.specs.some((s) => s.after.includes('hold')) ? { hold } : {}),
      ...(ages ? { source_ages: ages.map((a) => a.step), age_methods: c.ages!.plan.specs.map((s) => s.label) } : {}),
      weight_decay: r0.weightDecay,
      clip: r0.clip,
      seed: x.seed,
      growth_seed: x.growthSeed,
      eval_every: r0.evalEvery,
      eval_windows: r0.evalWindows,
      eval_ctx: x.evalCtx,
      jobs: x.jobs,
      threads_per_run: x.threads,
      ...(opts.target.layers !== undefined ? { depth: opts.depth ?? 'identity' } : {}),
      ...(opts.noiseDb !== undefined ? { hypercloning_noise_db: opts.noiseDb } : {}),
      ...(c.moments.files.size > 0 ? { moment_source: c.moments.origin } : {}),
    },
    datasets: c.sets.map((s) => ({ name: s.name, spec: s.spec, tokens: s.ids.length, windows: Math.floor(s.ids.length / x.evalCtx) })),
    target_val_loss: targetVal,
    scratch_steps_to_target: scratchSteps,
    runs,
    evaluations: c.evaluations,
    ...(c.tuning ? { tuning: c.tuning } : {}),
    ...(ages ? { ages } : {}),
    notes,
    seconds: (Date.now() - c.started) / 1000,
  };
}
