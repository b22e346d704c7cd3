/**
 * Counts what the WebGPU backend sends to the GPU: compute dispatches (by program), queue
 * submits, and the host time from the start of a count to its last dispatch (the JavaScript
 * that records the work: tfjs's per-op bookkeeping, bind groups, uniforms, allocation).
 * It wraps the backend's recordAndSubmit / submitQueue while a count is open; for the bench.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface DispatchCount {
  dispatches: number;
  submits: number;
  /** ms from `start` to the last dispatch recorded. */
  hostMs: number;
  /** ms of this process's CPU time over the same span (with `cpu`), which other processes' load does not inflate. */
  cpuMs?: number;
  byProgram: Map<string, number>;
}

interface Hooked {
  recordAndSubmit: (program: { constructor: { name: string }; shaderKey?: string }, ...rest: unknown[]) => void;
  submitQueue: () => void;
}

let open: { t0: number; last: number; cpu0?: NodeJS.CpuUsage; cpuLast?: NodeJS.CpuUsage; c: DispatchCount } | undefined;
let hooked: Hooked | undefined;

function hook(): void {
  if (hooked) return;
  const backend = tf.findBackend('webgpu') as unknown as Hooked | null;
  if (!backend) throw new Error('the webgpu backend is not initialised');
  const record = backend.recordAndSubmit.bind(backend);
  const submit = backend.submitQueue.bind(backend);
  backend.recordAndSubmit = (program, ...rest) => {
    record(program, ...rest);
    noteDispatch(program.shaderKey?.startsWith('scion_') ? program.shaderKey.split('_').slice(0, 2).join('_') : program.constructor.name);
  };
  backend.submitQueue = () => {
    submit();
    if (open) open.c.submits++;
  };
  hooked = backend;
}

/** Counts a dispatch Scion recorded itself (not through tfjs's programs). */
export function noteDispatch(name: string): void {
  if (!open) return;
  open.c.dispatches++;
  open.last = performance.now();
  if (open.cpu0) open.cpuLast = process.cpuUsage(open.cpu0);
  open.c.byProgram.set(name, (open.c.byProgram.get(name) ?? 0) + 1);
}

/** Starts counting (one count at a time); with `cpu`, also the process's CPU time to the last dispatch. */
export function startCount(cpu = false): void {
  hook();
  const t0 = performance.now();
  open = { t0, last: t0, c: { dispatches: 0, submits: 0, hostMs: 0, byProgram: new Map() }, ...(cpu ? { cpu0: process.cpuUsage() } : {}) };
}

/** Ends the count and returns it. */
export function stopCount(): DispatchCount {
  if (!open) throw new Error('stopCount without startCount');
  const u = open.cpuLast;
  const c = { ...open.c, hostMs: open.last - open.t0, ...(open.cpu0 ? { cpuMs: u ? (u.user + u.system) / 1000 : 0 } : {}) };
  open = undefined;
  return c;
}
