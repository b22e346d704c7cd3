/**
 * Child-process entry of `scion experiment --jobs N`: trains (or resumes) one run of an
 * experiment with exactly the code the in-process path uses, on the backend the parent
 * names, and reports to the parent over IPC (see parallel.ts for the messages). Ctrl-C in a
 * terminal reaches the whole process group: the child ignores it and waits for the parent's
 * 'abort' (or the parent going away), then writes a checkpoint and exits.
 */
import { initBackend } from '../backend.ts';
import { errorMessage, isScionError } from '../errors.ts';
import { resumeRun, type TrainProgress, type TrainResult, trainRun } from '../train/run.ts';
import type { FromTrainWorker, ToTrainWorker } from './parallel.ts';

const controller = new AbortController();
const send = (m: FromTrainWorker) => {
  if (process.connected) process.send?.(m);
};

process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => controller.abort());
process.on('disconnect', () => controller.abort());

async function start(msg: Extract<ToTrainWorker, { type: 'train' }>): Promise<void> {
  try {
    await initBackend(msg.backend);
    let lastProgress = 0;
    const cb = {
      signal: controller.signal,
      onLog: (line: string) => send({ type: 'log', line }),
      onProgress: (p: TrainProgress) => {
        const now = Date.now();
        if (now - lastProgress < 250 && p.step < p.steps) return;
        lastProgress = now;
        send({ type: 'progress', progress: p });
      },
    };
    const r: TrainResult = msg.resume ? await resumeRun(msg.options.out, cb) : await trainRun({ ...msg.options, force: true }, cb);
    send({ type: 'done', status: r.status });
  } catch (e) {
    send({
      type: 'error',
      message: errorMessage(e),
      ...(isScionError(e) ? { code: e.code, ...(e.file ? { file: e.file } : {}) } : {}),
    });
  } finally {
    process.disconnect?.();
  }
}

process.on('message', (m: ToTrainWorker) => {
  if (m.type === 'abort') controller.abort();
  else if (m.type === 'train') void start(m);
});
