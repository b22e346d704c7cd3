/**
 * `scion experiment --source <dir> --data <train> --val <val> --target hidden=D,layers=L
 * --methods hypercloning,zero-pad,scratch --steps N --out <dir>`: grown models vs. scratch,
 * with report.md, report.html and results.json.
 */
import { initBackend } from '../../engine/backend.ts';
import { isScionError, ScionError } from '../../engine/errors.ts';
import { type ExperimentOptions, runExperiment } from '../../engine/experiment/run-experiment.ts';
import type { ExperimentResults } from '../../engine/experiment/results.ts';
import { parseTarget } from '../../engine/experiment/target.ts';
import { measuredLines } from '../../engine/report/measured.ts';
import { presetExperiment } from '../../engine/experiment/presets.ts';
import { parseTuneLr, type TuneLr } from '../../engine/experiment/tune-lr.ts';
import { parseSourceAges } from '../../engine/experiment/source-ages.ts';
import { DEPTH_MODES, type DepthMode } from '../../engine/growth/index.ts';
import * as path from 'node:path';
import { COMMON_OPTIONS, type Command, type CommandIO, intOption, log, numberOption, parseCommandArgs, requireOption, writeJson } from '../command.ts';
import { workerTrainer } from '../../jobs/train-runs.ts';
import { ProgressBar } from '../progress.ts';
import type { TrainProgress } from '../../engine/train/run.ts';
import { TRAINING_FLAGS, trainingFlags } from './train.ts';

export const EXPERIMENT_FLAGS = {
  ...TRAINING_FLAGS,
  source: { type: 'string' },
  data: { type: 'string' },
  val: { type: 'string' },
  'eval-data': { type: 'string' },
  target: { type: 'string' },
  methods: { type: 'string' },
  depth: { type: 'string' },
  'noise-db': { type: 'string' },
  'growth-seed': { type: 'string' },
  'source-moments': { type: 'string' },
  'moment-steps': { type: 'string' },
  'source-tokens': { type: 'string' },
  jobs: { type: 'string' },
  out: { type: 'string' },
  preset: { type: 'string' },
  corpus: { type: 'string' },
  'source-steps': { type: 'string' },
  'tune-lr': { type: 'string' },
  tokenizer: { type: 'string' },
  'tune-steps': { type: 'string' },
  'source-ages': { type: 'string' },
  'age-methods': { type: 'string' },
} as const;

/** The one JSON object `--json` prints. */
export function experimentJson(r: ExperimentResults, outDir: string): Record<string, unknown> {
  return {
    out: outDir,
    report: path.join(outDir, 'report.html'),
    target_val_loss: r.target_val_loss,
    scratch_steps_to_target: r.scratch_steps_to_target,
    source_val_loss: r.source.val_loss,
    backend: r.backend,
    seconds: r.seconds,
    runs: r.runs.map((x) => ({
      method: x.label,
      initial_val_loss: x.initial_val_loss,
      final_val_loss: x.final_val_loss,
      steps_to_target: x.steps_to_target,
      speedup: x.speedup,
      speedup_kind: x.speedup_kind,
      speedup_display: x.speedup_display,
      flops_to_target: x.flops_to_target,
      flops_to_target_with_source: x.flops_to_target_with_source,
      speedup_with_source: x.speedup_with_source ?? null,
    })),
    ...(r.ages
      ? {
          source_ages: r.ages.map((a) => ({
            step: a.step,
            tokens: a.tokens,
            training_flops: a.training_flops,
            val_loss: a.val_loss,
            runs: a.runs.map((x) => ({
              run: x.label,
              initial_val_loss: x.initial_val_loss,
              final_val_loss: x.final_val_loss,
              steps_to_target: x.steps_to_target,
              speedup: x.speedup,
              speedup_with_source: x.speedup_with_source ?? null,
            })),
          })),
        }
      : {}),
  };
}

export function printExperiment(io: CommandIO, r: ExperimentResults, outDir: string): void {
  const lines = [
    'measured:',
    ...measuredLines(r).map((l) => `  ${l}`),
    `steps to the target val loss ${r.target_val_loss.toFixed(4)} (scratch's final; reached at step ${r.scratch_steps_to_target}):`,
  ];
  for (const x of r.runs) {
    lines.push(`  ${x.label.padEnd(26)} steps to target ${String(x.steps_to_target ?? 'never').padStart(6)}  speed-up ${x.speedup_display}`);
  }
  lines.push(`report: ${path.join(outDir, 'report.html')} (also report.md, results.json)`);
  io.stdout.write(lines.join('\n') + '\n');
}

/**
 * Experiment callbacks for a terminal; Ctrl-C checkpoints. One run at a time: a progress bar
 * per run. Several (`--jobs`): a line per run at every tenth of its steps instead.
 */
export function experimentCallbacks(io: CommandIO, jobs = 1) {
  const controller = new AbortController();
  let bar: ProgressBar | undefined;
  const tenths = new Map<string, number>();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    log(io, '\ninterrupted: writing a checkpoint (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  return {
    cb: {
      signal: controller.signal,
      // --jobs N: each run trains in a job worker (the job runner's launcher and worker)
      trainer: workerTrainer(),
      onLog: (l: string) => log(io, l),
      onRunStart: (label: string, i: number, n: number) => {
        bar?.done();
        bar = undefined;
        log(io, `[${i + 1}/${n}] ${label}`);
      },
      onProgress: (label: string, p: TrainProgress) => {
        if (jobs > 1) {
          const t = Math.floor((10 * p.step) / p.steps);
          if (t <= (tenths.get(label) ?? 0)) return;
          tenths.set(label, t);
          log(io, `  [${label}] step ${p.step}/${p.steps} loss ${p.trainLoss.toFixed(4)} (${p.elapsed.toFixed(0)} s, eta ${p.eta.toFixed(0)} s)`);
          return;
        }
        bar ??= new ProgressBar(io, p.steps, label);
        bar.update(p.step, `loss ${p.trainLoss.toFixed(4)}`);
      },
    },
    finish: () => {
      bar?.done();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}

type ExperimentValues = Partial<Record<keyof typeof EXPERIMENT_FLAGS, string | undefined>>;

/** `--tune-lr a,b,c [--tune-steps K]`. */
function tuneLrFromFlags(values: ExperimentValues): TuneLr | undefined {
  const steps = intOption('experiment', 'tune-steps', values['tune-steps']);
  if (values['tune-lr'] === undefined) {
    if (steps !== undefined) throw new ScionError('scion experiment: --tune-steps sets the length of the --tune-lr runs: give --tune-lr too', 'E_USAGE');
    return undefined;
  }
  return { lrs: parseTuneLr(values['tune-lr']), ...(steps !== undefined ? { steps } : {}) };
}

/** `--preset NAME --corpus FILE --out DIR`, with the flags a preset lets the user change. */
function presetFromFlags(values: ExperimentValues, flags: ReturnType<typeof trainingFlags>): ExperimentOptions {
  for (const k of ['source', 'data', 'val', 'target', 'depth', 'source-moments', 'source-tokens'] as const) {
    if (values[k] !== undefined)
      throw new ScionError(`scion experiment: --${k} cannot be combined with --preset (the preset trains its own source on slices of --corpus)`, 'E_USAGE');
  }
  const { rewarm, hold, ...training } = flags;
  return presetExperiment(values.preset!, requireOption('experiment', 'corpus', values.corpus), requireOption('experiment', 'out', values.out), {
    training,
    ...(values.methods !== undefined ? { methods: values.methods } : {}),
    ...(rewarm !== undefined ? { rewarm } : {}),
    ...(hold !== undefined ? { hold } : {}),
    ...(values['source-steps'] !== undefined ? { sourceSteps: intOption('experiment', 'source-steps', values['source-steps'])! } : {}),
    ...(values['noise-db'] !== undefined ? { noiseDb: numberOption('experiment', 'noise-db', values['noise-db'])! } : {}),
    ...(values['eval-data'] ? { evalData: values['eval-data'].split(',').filter(Boolean) } : {}),
    ...(values.jobs !== undefined ? { jobs: intOption('experiment', 'jobs', values.jobs)! } : {}),
    ...(values.tokenizer !== undefined ? { tokenizer: values.tokenizer } : {}),
  });
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'grow a model with several methods, train each next to a scratch baseline, report the speed-ups',
  usage:
    'scion experiment --source <dir> --data <train> --val <val> [--eval-data a,b,...] --target hidden=D[,layers=L,ffn=F,heads=H] ' +
    '--methods hypercloning,zero-pad[+rewarm][+hold][+lowlr][+moments],...,scratch --steps N [training flags of scion train] [--rewarm W] [--hold H] ' +
    '[--depth identity|stack|interpolate] [--noise-db X] [--source-moments <optimizer.safetensors>] [--moment-steps K] [--source-tokens N] [--jobs N] [--threads N] --out <dir> [--json]\n' +
    '  or: scion experiment --preset papers-cpu|papers-gpu|papers-smoke --corpus <text file> --out <dir> [--jobs N] [--steps N] [--source-steps N] [--methods ...] [--tokenizer <dir>]\n' +
    '      [--source-ages a,b,c [--age-methods m1,m2]] [training flags]\n' +
    '    trains the source on the corpus first (its cost is counted), then grows it to a target 4x its size; every run reads fresh tokens in order (scripts/make-corpus.sh builds the corpus).\n' +
    '    --tokenizer <dir>: read the corpus with that tokenizer (scion tokenizer train --data corpus#0-0.97 ...) instead of bytes.\n' +
    '  --jobs N: train up to N runs at a time, each in its own process (default 1); the results are the same as with 1 at the same threads per run.\n' +
    '  --threads N: CPU threads for the whole experiment (default every core), split evenly between the --jobs runs.\n' +
    '  --tune-lr a,b,c [--tune-steps K]: first train every run (scratch and each grown one) K steps (default a tenth of --steps) at each peak rate,\n' +
    '    record every tuning run in the report, and train each run at the rate whose tuning run ended at the lowest validation loss.\n' +
    '  After-growth options of a grown run (--methods m+opt+...): +rewarm: a fresh warm-up over --rewarm W steps (default max(--warmup, steps/10));\n' +
    '    +hold: --hold H steps (default steps/10) at the peak rate after growth (after the re-warm-up with +rewarm), then the decay over the remaining\n' +
    "    steps to the same final rate as scratch; +lowlr: a third of the rates; +moments: the source's AdamW moments carried through the operator; msg+ramp.\n" +
    '  --source-ages a,b,c (with --preset): the source run keeps its model at those steps (each <= --source-steps; a re-run reuses them), and each age\n' +
    '    before the last is grown with --age-methods (runs of --methods; default the first grown one) and trained like the other runs, labelled\n' +
    "    e.g. zero-pad@src250; the report's table 'Growing at several source ages' gives each age's speed-up with the source free and with its training to that age paid.\n" +
    '  --noise-db X: grow the hypercloning runs with symmetry-breaking noise at X dB (function kept); without it the clones stay identical in training.',
  async run(argv, io) {
    const { values } = parseCommandArgs('experiment', argv, { ...COMMON_OPTIONS, ...EXPERIMENT_FLAGS }, false);
    const flags = trainingFlags('experiment', values);
    const depth = values.depth;
    if (depth !== undefined && !(DEPTH_MODES as readonly string[]).includes(depth))
      throw new ScionError(`scion experiment: --depth must be one of ${DEPTH_MODES.join(', ')}, got '${depth}'`, 'E_USAGE');
    const { rewarm, hold, ...training } = flags;
    const opts: ExperimentOptions =
      values.preset !== undefined
        ? presetFromFlags(values, flags)
        : {
            source: requireOption('experiment', 'source', values.source),
            data: requireOption('experiment', 'data', values.data),
            val: requireOption('experiment', 'val', values.val),
            target: parseTarget(requireOption('experiment', 'target', values.target)),
            methods: values.methods ?? 'hypercloning,zero-pad,scratch',
            training: { ...training, steps: requireOption('experiment', 'steps', training.steps) },
            out: requireOption('experiment', 'out', values.out),
            ...(values['eval-data'] ? { evalData: values['eval-data'].split(',').filter(Boolean) } : {}),
            ...(rewarm !== undefined ? { rewarm } : {}),
            ...(hold !== undefined ? { hold } : {}),
            ...(depth !== undefined ? { depth: depth as DepthMode } : {}),
            ...(values['noise-db'] !== undefined ? { noiseDb: numberOption('experiment', 'noise-db', values['noise-db'])! } : {}),
            ...(values['growth-seed'] !== undefined ? { growthSeed: intOption('experiment', 'growth-seed', values['growth-seed'], 0, 0)! } : {}),
            ...(values['source-moments'] !== undefined ? { sourceMoments: values['source-moments'] } : {}),
            ...(values['moment-steps'] !== undefined ? { momentSteps: intOption('experiment', 'moment-steps', values['moment-steps'])! } : {}),
            ...(values['source-tokens'] !== undefined ? { sourceTokens: intOption('experiment', 'source-tokens', values['source-tokens'])! } : {}),
            ...(values.jobs !== undefined ? { jobs: intOption('experiment', 'jobs', values.jobs)! } : {}),
            ...(values.threads !== undefined ? { threads: intOption('experiment', 'threads', values.threads)! } : {}),
          };
    const tuneLr = tuneLrFromFlags(values);
    if (tuneLr) opts.tuneLr = tuneLr;
    if (values['source-ages'] !== undefined) {
      if (values.preset === undefined)
        throw new ScionError(
          'scion experiment: --source-ages grows the source at earlier steps of its training: use it with --preset (which trains it)',
          'E_USAGE',
        );
      opts.sourceAges = parseSourceAges(values['source-ages']);
    }
    if (values['age-methods'] !== undefined) opts.ageMethods = values['age-methods'];
    if (values.preset === undefined && values['source-steps'] !== undefined)
      throw new ScionError("scion experiment: --source-steps changes a preset's source training: use it with --preset", 'E_USAGE');
    if (values.preset === undefined && values.tokenizer !== undefined)
      throw new ScionError(
        "scion experiment: --tokenizer sets a preset's tokenizer; without --preset every model reads data with the source's own tokenizer",
        'E_USAGE',
      );
    const backend = await initBackend(values.backend);
    log(io, `backend: ${backend.name}`);
    const { cb, finish } = experimentCallbacks(io, opts.jobs);
    let r: ExperimentResults;
    try {
      r = await runExperiment(opts, cb);
    } catch (e) {
      if (isScionError(e) && e.code === 'E_INTERRUPTED') {
        log(io, e.message);
        return 130;
      }
      throw e;
    } finally {
      finish();
    }
    if (values.json) writeJson(io, experimentJson(r, opts.out));
    else printExperiment(io, r, opts.out);
    return 0;
  },
};
