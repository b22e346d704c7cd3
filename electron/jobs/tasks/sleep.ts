/** A job that only waits, in steps: exercises the queue, cancel and crash paths cheaply in tests. */
import { ScionError } from '../../engine/errors.ts';
import type { SleepResult, SleepSpec } from '../messages.ts';
import type { TaskContext } from './context.ts';

export async function runSleep(spec: SleepSpec, ctx: TaskContext): Promise<SleepResult> {
  for (let step = 1; step <= spec.steps; step++) {
    if (ctx.signal.aborted) return { kind: 'sleep', steps: step - 1, stopped: true };
    await new Promise((r) => setTimeout(r, spec.stepMs));
    if (spec.failAt === step) throw new ScionError(`sleep job failed at step ${step} (as asked)`, 'E_TEST');
    ctx.emit({ type: 'progress', step, total: spec.steps, etaSeconds: ((spec.steps - step) * spec.stepMs) / 1000 });
  }
  return { kind: 'sleep', steps: spec.steps, stopped: false };
}
