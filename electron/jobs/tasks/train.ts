/** The train job: a run started with `trainRun`, or continued with `resumeRun` (`scion train --resume`). */
import { resumeRun, type TrainProgress, trainRun } from '../../engine/train/run.ts';
import type { TrainResult, TrainSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';

/** A metrics line as a log line (the job log shows the run's course: validation steps and every `every` steps). */
function metricLine(m: { step: number; train_loss?: number; lr?: number; tokens: number; time: number; val_loss?: number }): string {
  const parts = [`step ${m.step}`];
  if (m.train_loss !== undefined) parts.push(`train loss ${m.train_loss.toFixed(4)}`);
  if (m.val_loss !== undefined) parts.push(`val loss ${m.val_loss.toFixed(4)}`);
  if (m.lr !== undefined) parts.push(`lr ${m.lr.toExponential(2)}`);
  parts.push(`${m.tokens} tokens`, `${m.time.toFixed(1)} s`);
  return parts.join(', ');
}

export async function runTrain(spec: TrainSpec, ctx: TaskContext): Promise<TrainResult> {
  const s = spec.settings;
  ctx.log(
    spec.resume
      ? `resuming ${spec.runDir} on ${ctx.backend}`
      : `training ${spec.modelDir} on ${spec.dataFile}${spec.valFile ? ` (validation ${spec.valFile})` : ''} on ${ctx.backend}: ${s.steps} steps, batch ${s.batch} x ${s.ctx} tokens, lr ${s.lr} (${s.schedule}, warm-up ${s.warmup}), seed ${s.seed}`,
  );
  const callbacks = {
    signal: ctx.signal,
    onLog: (line: string) => ctx.log(line),
    onMetric: (m: { step: number; train_loss?: number; lr?: number; tokens: number; time: number; val_loss?: number }) => {
      const { step, tokens, time } = m;
      if (m.val_loss !== undefined || step === 1 || step % s.evalEvery === 0 || step === s.steps) ctx.log(metricLine(m));
      ctx.emit({
        type: 'metric',
        point: {
          step,
          tokens,
          time,
          ...(m.train_loss !== undefined ? { train_loss: m.train_loss } : {}),
          ...(m.lr !== undefined ? { lr: m.lr } : {}),
          ...(m.val_loss !== undefined ? { val_loss: m.val_loss } : {}),
        },
      });
    },
    onProgress: (p: TrainProgress) =>
      ctx.emit({
        type: 'progress',
        step: p.step,
        total: p.steps,
        loss: p.trainLoss,
        tokensPerSecond: p.elapsed > 0 ? p.tokens / p.elapsed : 0,
        etaSeconds: p.eta,
      }),
  };
  const r = spec.resume
    ? await resumeRun(spec.runDir, callbacks)
    : await trainRun(
        {
          model: spec.modelDir,
          data: spec.dataFile,
          ...(spec.valFile ? { val: spec.valFile } : {}),
          out: spec.runDir,
          steps: s.steps,
          batch: s.batch,
          ctx: s.ctx,
          lr: s.lr,
          minLr: s.minLr,
          warmup: s.warmup,
          schedule: s.schedule,
          weightDecay: s.weightDecay,
          clip: s.clip,
          gradAccum: s.gradAccum,
          seed: s.seed,
          evalEvery: s.evalEvery,
          checkpointEvery: s.checkpointEvery,
          ...(s.recompute ? { recompute: true } : {}),
        },
        callbacks,
      );
  return {
    kind: 'train',
    backend: ctx.backend,
    lastStep: r.step,
    stopped: r.status === 'interrupted',
    ...(r.finalModel ? { modelDir: r.finalModel } : {}),
    ...(r.finalTrainLoss !== undefined ? { finalTrainLoss: r.finalTrainLoss } : {}),
    ...(r.finalValLoss !== undefined ? { finalValLoss: r.finalValLoss } : {}),
  };
}
