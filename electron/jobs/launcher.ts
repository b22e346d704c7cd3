/**
 * One abstraction over the two ways to start a worker process: Node's `child_process.fork`
 * (the CLI, `scion serve`, tests) and Electron's `utilityProcess` (the app). Electron is
 * never imported here: the app passes its `utilityProcess` in.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker } from './messages.ts';
import { isFromWorker } from './messages.ts';

export interface WorkerHandle {
  readonly pid: number | undefined;
  send(msg: ToWorker): void;
  onMessage(listener: (msg: FromWorker) => void): void;
  /** Called once when the process is gone; `signal` is set when it was killed. */
  onExit(listener: (code: number | null, signal: string | null) => void): void;
  /** Lines the worker printed on stderr (for the job log). */
  onStderr(listener: (line: string) => void): void;
  kill(): void;
}

export type WorkerLauncher = (entry: string, env: Record<string, string>) => WorkerHandle;

/** The worker's entry file, next to this one. */
export const WORKER_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');

function lines(stream: NodeJS.ReadableStream | null | undefined, listener: (l: string) => void): void {
  if (!stream) return;
  let carry = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    carry += chunk;
    const parts = carry.split('\n');
    carry = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) listener(p);
  });
  stream.on('end', () => {
    if (carry.trim()) listener(carry);
  });
}

/** Starts workers with `child_process.fork`, the TypeScript entry run through tsx (resolved from here, so any working folder works). */
export const forkLauncher: WorkerLauncher = (entry, env) => {
  const child = fork(entry, [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const stderr: Array<(l: string) => void> = [];
  lines(child.stderr, (l) => stderr.forEach((f) => f(l)));
  return {
    get pid() {
      return child.pid;
    },
    send(msg) {
      if (child.connected) child.send(msg);
    },
    onMessage(listener) {
      child.on('message', (m: unknown) => {
        if (isFromWorker(m)) listener(m);
      });
    },
    onExit(listener) {
      child.once('exit', (code, signal) => listener(code, signal));
    },
    onStderr(listener) {
      stderr.push(listener);
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
};

/** The parts of Electron's `utilityProcess` this uses (structural, so electron is not imported). */
export interface UtilityProcessLike {
  fork(
    modulePath: string,
    args?: string[],
    options?: {
      env?: Record<string, string | undefined>;
      execArgv?: string[];
      stdio?: 'pipe' | 'ignore' | 'inherit' | Array<'pipe' | 'ignore' | 'inherit'>;
      serviceName?: string;
    },
  ): UtilityChildLike;
}
export interface UtilityChildLike {
  readonly pid: number | undefined;
  readonly stderr: NodeJS.ReadableStream | null;
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  once(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

/**
 * Starts workers with Electron's `utilityProcess` (pass `require('electron').utilityProcess`).
 * `execArgv` runs a TypeScript entry through tsx in development; a packaged app passes a
 * bundled JavaScript entry and no execArgv.
 */
export function utilityProcessLauncher(utilityProcess: UtilityProcessLike, execArgv: string[] = ['--import', 'tsx']): WorkerLauncher {
  return (entry, env) => {
    const child = utilityProcess.fork(entry, [], { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'ignore', 'pipe'], serviceName: 'Scion job' });
    const stderr: Array<(l: string) => void> = [];
    lines(child.stderr, (l) => stderr.forEach((f) => f(l)));
    let killed = false;
    return {
      get pid() {
        return child.pid;
      },
      send(msg) {
        child.postMessage(msg);
      },
      onMessage(listener) {
        child.on('message', (m) => {
          if (isFromWorker(m)) listener(m);
        });
      },
      onExit(listener) {
        // utilityProcess reports only an exit code; a kill we did not ask for shows as non-zero.
        child.once('exit', (code) => listener(code, killed ? 'SIGKILL' : null));
      },
      onStderr(listener) {
        stderr.push(listener);
      },
      kill() {
        killed = true;
        child.kill();
      },
    };
  };
}
