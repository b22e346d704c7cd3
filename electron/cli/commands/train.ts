/**
 * `scion train <model-dir> --data <file> --steps N --out <run-dir>` and
 * `scion train --resume <run-dir>`: AdamW training with warm-up and schedules, clipping,
 * gradient accumulation and resumable checkpoints. Ctrl-C writes a checkpoint and exits
 * with status 130; `--resume` continues exactly where it stopped.
 */
import { initBackend } from '../../engine/backend.ts';
import { ScionError } from '../../engine/errors.ts';
import type { TrainOptions } from '../../engine/train/options.ts';
import { resumeRun, type TrainCallbacks, type TrainResult, trainRun } from '../../engine/train/run.ts';
import { SAMPLERS, type SamplerKind } from '../../engine/train/batches.ts';
import { SCHEDULES, type ScheduleKind } from '../../engine/train/schedule.ts';
import { PRECISIONS, type Precision } from '../../engine/webgpu/ops-f16.ts';
import { recordTraining } from '../../store/record.ts';
import { COMMON_OPTIONS, type Command, type CommandIO, intOption, log, numberOption, parseCommandArgs, requireOption, writeJson } from '../command.ts';
import { ProgressBar } from '../progress.ts';

/** Training flags shared by `scion train` and `scion experiment`. */
export const TRAINING_FLAGS = {
  steps: { type: 'string' },
  batch: { type: 'string' },
  ctx: { type: 'string' },
  lr: { type: 'string' },
  'min-lr': { type: 'string' },
  warmup: { type: 'string' },
  rewarm: { type: 'string' },
  hold: { type: 'string' },
  schedule: { type: 'string' },
  'weight-decay': { type: 'string' },
  clip: { type: 'string' },
  'grad-accum': { type: 'string' },
  seed: { type: 'string' },
  'eval-every': { type: 'string' },
  'eval-windows': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  threads: { type: 'string' },
  sampler: { type: 'string' },
} as const;

/** The usage text of the training flags (`--steps` and `--threads` aside: each command places those). */
export const TRAINING_USAGE =
  '[--batch B] [--ctx T] [--lr X] [--min-lr X] [--warmup W] [--rewarm W] [--hold H] [--schedule cosine|linear|constant] [--sampler random|sequential] ' +
  '[--weight-decay X] [--clip X] [--grad-accum K] [--seed S] [--eval-every K] [--eval-windows N] [--checkpoint-every K]';

/** The flags of a training session on a model besides the training flags (`scion train`, `scion handoff`). */
export const SESSION_FLAGS = {
  data: { type: 'string' },
  val: { type: 'string' },
  out: { type: 'string' },
  moments: { type: 'string' },
  'mask-ramp': { type: 'string' },
  force: { type: 'boolean', default: false },
  project: { type: 'string' },
} as const;

/** `scion train`'s mixed precision flags (train/loss-scale.ts). */
const PRECISION_FLAGS = {
  precision: { type: 'string' },
  'loss-scale': { type: 'string' },
  'loss-scale-every': { type: 'string' },
} as const;

function precisionFlags(
  v: Partial<Record<keyof typeof PRECISION_FLAGS, string | undefined>>,
): Pick<TrainOptions, 'precision' | 'lossScale' | 'lossScaleEvery'> {
  const out: Pick<TrainOptions, 'precision' | 'lossScale' | 'lossScaleEvery'> = {};
  if (v.precision !== undefined) {
    if (!(PRECISIONS as readonly string[]).includes(v.precision))
      throw new ScionError(`scion train: --precision must be one of ${PRECISIONS.join(', ')}, got '${v.precision}'`, 'E_USAGE');
    out.precision = v.precision as Precision;
  }
  const scale = numberOption('train', 'loss-scale', v['loss-scale']);
  const every = intOption('train', 'loss-scale-every', v['loss-scale-every']);
  if (scale !== undefined) out.lossScale = scale;
  if (every !== undefined) out.lossScaleEvery = every;
  return out;
}

type FlagValues = Partial<Record<keyof typeof TRAINING_FLAGS, string | undefined>>;

/** Parses the training flags into TrainOptions fields (only those given). */
export function trainingFlags(command: string, v: FlagValues): Omit<TrainOptions, 'model' | 'data' | 'out' | 'steps'> & { steps?: number } {
  const out: Omit<TrainOptions, 'model' | 'data' | 'out' | 'steps'> & { steps?: number } = {};
  const set = <K extends keyof typeof out>(k: K, val: (typeof out)[K] | undefined) => {
    if (val !== undefined) out[k] = val;
  };
  set('steps', intOption(command, 'steps', v.steps));
  set('batch', intOption(command, 'batch', v.batch));
  set('ctx', intOption(command, 'ctx', v.ctx));
  set('lr', numberOption(command, 'lr', v.lr));
  set('minLr', numberOption(command, 'min-lr', v['min-lr']));
  set('warmup', intOption(command, 'warmup', v.warmup, undefined, 0));
  set('rewarm', intOption(command, 'rewarm', v.rewarm, undefined, 0));
  set('hold', intOption(command, 'hold', v.hold, undefined, 0));
  if (v.schedule !== undefined) {
    if (!(SCHEDULES as readonly string[]).includes(v.schedule))
      throw new ScionError(`scion ${command}: --schedule must be one of ${SCHEDULES.join(', ')}, got '${v.schedule}'`, 'E_USAGE');
    out.schedule = v.schedule as ScheduleKind;
  }
  if (v.sampler !== undefined) {
    if (!(SAMPLERS as readonly string[]).includes(v.sampler))
      throw new ScionError(`scion ${command}: --sampler must be one of ${SAMPLERS.join(', ')}, got '${v.sampler}'`, 'E_USAGE');
    out.sampler = v.sampler as SamplerKind;
  }
  set('weightDecay', numberOption(command, 'weight-decay', v['weight-decay']));
  set('clip', numberOption(command, 'clip', v.clip));
  set('gradAccum', intOption(command, 'grad-accum', v['grad-accum']));
  set('seed', intOption(command, 'seed', v.seed, undefined, 0));
  set('evalEvery', intOption(command, 'eval-every', v['eval-every']));
  set('evalWindows', intOption(command, 'eval-windows', v['eval-windows']));
  set('checkpointEvery', intOption(command, 'checkpoint-every', v['checkpoint-every']));
  return out;
}

/** Progress bar + abort on Ctrl-C or SIGTERM (first: checkpoint and stop; second: exit now). */
export function terminalCallbacks(io: CommandIO, label: string): { cb: TrainCallbacks; finish: () => void } {
  const controller = new AbortController();
  let bar: ProgressBar | undefined;
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    log(io, '\ninterrupted: writing a checkpoint (Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const cb: TrainCallbacks = {
    signal: controller.signal,
    onLog: (line) => log(io, line),
    onProgress: (p) => {
      bar ??= new ProgressBar(io, p.steps, label);
      bar.update(p.step, `loss ${p.trainLoss.toFixed(4)} lr ${p.lr.toExponential(2)}`);
    },
  };
  return {
    cb,
    finish: () => {
      bar?.done();
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    },
  };
}

function summary(r: TrainResult): Record<string, unknown> {
  return {
    status: r.status,
    run_dir: r.runDir,
    step: r.step,
    steps: r.steps,
    tokens: r.tokens,
    seconds: r.seconds,
    initial_val_loss: r.initialValLoss ?? null,
    final_train_loss: r.finalTrainLoss ?? null,
    final_val_loss: r.finalValLoss ?? null,
    final_model: r.finalModel ?? null,
    checkpoint: r.checkpoint ?? null,
  };
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model (AdamW, schedules, clipping, accumulation) with resumable checkpoints',
  usage:
    `scion train <model-dir> --data <file> [--val <file>] --steps N --out <run-dir> [--init pretrained|scratch] ${TRAINING_USAGE} ` +
    '[--moments <optimizer.safetensors>] [--mask-ramp K] [--recompute] [--precision fp32|f16 [--loss-scale S] [--loss-scale-every N]] [--threads N] [--force] [--project DIR] [--json]\n' +
    '       scion train --resume <run-dir> [--threads N] [--project DIR] [--json]\n' +
    '--threads N: CPU threads for the wasm and cpu backends (default: SCION_THREADS, else every core).\n' +
    "--recompute: keep only each block's input and recompute the block in the backward pass: much less activation memory\n" +
    '             (GPT-2 small at ctx 256 on wasm) for about a third more compute; the losses are those of a run without it.\n' +
    '--hold H: after the warm-up (or --rewarm), H steps at the peak rate before the decay, which then spans the remaining steps (same final rate at the last step).\n' +
    'Datasets may name a fraction of a file: data.txt#0-0.9 (first 90%), data.txt#0.9-1 (last 10%).\n' +
    '--force replaces an existing run folder only when Scion wrote it; a run that fails before its first checkpoint leaves --out as it was.\n' +
    '--mask-ramp K: for a model grown with --method msg: its new parts (growth-mask.safetensors) ramp in over K steps,\n' +
    '               W_eff = W * (M + (1 - M) * min(1, step / K)); checkpoints and the final model hold W_eff.\n' +
    '--precision f16: WebGPU on an adapter with shader-f16 only: matrix products in f16, float32 weights and AdamW state,\n' +
    '               dynamic loss scaling (initial --loss-scale, default 65536; doubled after --loss-scale-every good steps,\n' +
    '               default 1000; halved and the update skipped when the gradients overflow). Default fp32.',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('train', argv, {
      ...COMMON_OPTIONS,
      ...TRAINING_FLAGS,
      ...SESSION_FLAGS,
      init: { type: 'string' },
      resume: { type: 'string' },
      recompute: { type: 'boolean', default: false },
      ...PRECISION_FLAGS,
    });
    const backend = await initBackend(values.backend);
    log(io, `backend: ${backend.name}`);
    const { cb, finish } = terminalCallbacks(io, 'train');
    const threads = intOption('train', 'threads', values.threads);
    if (threads !== undefined) cb.threads = threads;
    let result: TrainResult;
    try {
      if (values.resume !== undefined) {
        if (positionals.length > 0 || values['mask-ramp'] !== undefined || values.recompute || values.precision !== undefined)
          throw new ScionError('scion train: --resume takes the run folder only; its options come from run.json', 'E_USAGE');
        result = await resumeRun(values.resume, cb);
      } else {
        const model = requireOption('train', '<model-dir>', positionals[0]);
        const flags = trainingFlags('train', values);
        const maskRamp = intOption('train', 'mask-ramp', values['mask-ramp']);
        const init = values.init ?? 'pretrained';
        if (init !== 'pretrained' && init !== 'scratch')
          throw new ScionError(`scion train: --init must be 'pretrained' or 'scratch', got '${init}'`, 'E_USAGE');
        result = await trainRun(
          {
            ...flags,
            model,
            init,
            data: requireOption('train', 'data', values.data),
            out: requireOption('train', 'out', values.out),
            steps: requireOption('train', 'steps', flags.steps),
            ...(values.val !== undefined ? { val: values.val } : {}),
            ...(values.moments !== undefined ? { moments: values.moments } : {}),
            ...(maskRamp !== undefined ? { maskRamp } : {}),
            ...(values.recompute ? { recompute: true } : {}),
            ...precisionFlags(values),
            force: values.force,
          },
          cb,
        );
      }
    } finally {
      finish();
    }
    if (values.project) {
      const r = result;
      const t = await recordTraining(values.project, r.runDir, {
        completed: r.status === 'completed',
        step: r.step,
        ...(r.finalModel ? { finalModel: r.finalModel } : {}),
        ...(r.initialValLoss !== undefined ? { initialValLoss: r.initialValLoss } : {}),
        ...(r.finalValLoss !== undefined ? { finalValLoss: r.finalValLoss } : {}),
      });
      log(io, `recorded in project ${values.project} as training ${t.id}`);
    }
    if (values.json) writeJson(io, summary(result));
    else {
      const s = summary(result);
      io.stdout.write(
        Object.entries(s)
          .map(([k, v]) => `${k.padEnd(17)} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v)}`)
          .join('\n') + '\n',
      );
    }
    if (result.status === 'interrupted') {
      log(io, `stopped at step ${result.step}; continue with: scion train --resume ${result.runDir}`);
      return 130;
    }
    return 0;
  },
};
