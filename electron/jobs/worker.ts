/**
 * The worker process's entry: receives one job, runs it, reports progress, metrics, log
 * lines and the result, then exits. Works under `child_process.fork` (process.send) and
 * Electron's `utilityProcess` (process.parentPort). If the parent goes away, the job is
 * asked to stop (training checkpoints) and the worker exits.
 */
import { initBackend } from '../engine/backend.ts';
import { errorMessage, isScionError } from '../engine/errors.ts';
import type { FromWorker, ToWorker } from './messages.ts';
import { runTask } from './tasks/index.ts';

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

interface Channel {
  post(msg: FromWorker): Promise<void>;
  /** Exits once what was posted has left the process. */
  exit(code: number): void;
  onMessage(listener: (msg: ToWorker) => void): void;
  onParentGone(listener: () => void): void;
}

function channel(): Channel {
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
  if (parentPort) {
    return {
      post: async (msg) => parentPort.postMessage(msg),
      // postMessage gives no completion callback: leave the message time to leave
      exit: (code) => void setTimeout(() => process.exit(code), 200),
      onMessage: (l) => parentPort.on('message', (e) => l(e.data as ToWorker)),
      onParentGone: () => undefined,
    };
  }
  if (!process.send) throw new Error('the job worker must be started by the job runner (no IPC channel)');
  return {
    post: (msg) =>
      new Promise((resolve) => {
        if (!process.connected) return resolve();
        process.send!(msg, undefined, {}, () => resolve());
      }),
    exit: (code) => process.exit(code),
    onMessage: (l) => process.on('message', (m) => l(m as ToWorker)),
    onParentGone: (l) => process.on('disconnect', l),
  };
}

// Ctrl-C in a terminal reaches the whole process group: the worker leaves it to its parent,
// which asks it to stop (cancel: a training run checkpoints first) or goes away.
process.on('SIGINT', () => undefined);

const port = channel();
const controller = new AbortController();
let started = false;
/** Jobs that write atomically and cannot checkpoint stop at once when cancelled. */
let stopAtOnce = false;

async function run(msg: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  try {
    if (msg.spec.tokenCacheDir) process.env['SCION_CACHE_DIR'] = msg.spec.tokenCacheDir;
    const backend = await initBackend(msg.backend);
    await port.post({ type: 'backend', name: backend.name });
    const result = await runTask(msg.spec, {
      emit: (m) => void port.post(m),
      log: (line) => void port.post({ type: 'log', line }),
      signal: controller.signal,
      backend: backend.name,
    });
    await port.post({ type: 'result', result });
  } catch (e) {
    await port.post({ type: 'error', message: errorMessage(e), code: isScionError(e) ? e.code : 'E_INTERNAL' });
  }
  port.exit(0);
}

port.onMessage((msg) => {
  if (msg.type === 'cancel') {
    controller.abort();
    if (stopAtOnce) process.exit(0);
  } else if (msg.type === 'start' && !started) {
    started = true;
    stopAtOnce = msg.spec.kind === 'grow' || msg.spec.kind === 'handoff';
    void run(msg);
  }
});
port.onParentGone(() => {
  controller.abort();
  setTimeout(() => process.exit(1), 30_000).unref();
  if (!started) process.exit(1);
});
