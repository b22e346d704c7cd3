/**
 * Where a threaded step's time goes, for the bench (bench/threads.ts): each thread splits its
 * work into named phases and records the CPU time of the calling thread in each (Linux's
 * /proc/thread-self/schedstat, nanoseconds on the CPU: other processes' load does not count)
 * and the wall time. Off unless a pool is started with `profile`; a recorder costs one small
 * file read per phase.
 */
import { readFileSync } from 'node:fs';

/** CPU and wall milliseconds by phase name. */
export type PhaseTimes = Record<string, { cpu: number; wall: number }>;

let schedstat: boolean | undefined;

/** The calling thread's CPU time in ms (schedstat), or NaN where the system has no such file. */
export function threadCpuMs(): number {
  if (schedstat === false) return NaN;
  try {
    const ns = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    schedstat = true;
    return ns / 1e6;
  } catch {
    schedstat = false;
    return NaN;
  }
}

/** Accumulates phase times: `lap(name)` books the time since the previous lap (or the start) to `name`. */
export class PhaseClock {
  readonly times: PhaseTimes = {};
  private cpu = threadCpuMs();
  private wall = performance.now();

  lap(name: string): void {
    const cpu = threadCpuMs();
    const wall = performance.now();
    const t = (this.times[name] ??= { cpu: 0, wall: 0 });
    t.cpu += cpu - this.cpu;
    t.wall += wall - this.wall;
    this.cpu = cpu;
    this.wall = wall;
  }
}

/** A clock that records nothing (profiling off). */
export const NO_CLOCK = { lap: (_name: string): void => undefined, times: {} as PhaseTimes };

export type Clock = Pick<PhaseClock, 'lap' | 'times'>;

/** `a` + `b`, phase by phase (into a new object). */
export function addPhases(a: PhaseTimes, b: PhaseTimes): PhaseTimes {
  const out: PhaseTimes = {};
  for (const src of [a, b])
    for (const [k, v] of Object.entries(src)) {
      const t = (out[k] ??= { cpu: 0, wall: 0 });
      t.cpu += v.cpu;
      t.wall += v.wall;
    }
  return out;
}
