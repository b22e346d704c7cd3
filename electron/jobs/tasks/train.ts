/** The train job: a run started with `trainRun`, or continued with `resumeRun` (`scion train --resume`). */
import { resumeRun, type TrainProgress, trainRun } from '../../engine/train/run.ts';
import type { TrainResult, TrainSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';

export async function runTrain(spec: TrainSpec, ctx: TaskContext): Promise<TrainResult> {
  const callbacks = {
    signal: ctx.signal,
    onLog: (line: string) => ctx.log(line),
    onMetric: (m: { step: number; train_loss?: number; lr?: number; tokens: number; time: number; val_loss?: number }) => {
      const { step, tokens, time } = m;
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
  const s = spec.settings;
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
