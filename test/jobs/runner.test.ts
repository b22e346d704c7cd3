/**
 * The job runner with real worker processes (sleep jobs keep it cheap): one job at a time by
 * default, cancel of queued and running jobs, a failure with its message and code, a
 * SIGKILLed worker reported as interrupted, the utilityProcess adapter, and a hand-off job (it
 * only writes files) that starts at once beside a running job instead of waiting for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { forkLauncher, type UtilityProcessLike, utilityProcessLauncher } from '../../electron/jobs/launcher.ts';
import type { FromWorker, HandoffSpec, SleepSpec } from '../../electron/jobs/messages.ts';
import { type JobOutcome, JobRunner } from '../../electron/jobs/runner.ts';
import { DATA, fixtureDir } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const sleep = (steps: number, stepMs: number, failAt?: number): SleepSpec => ({ kind: 'sleep', steps, stepMs, ...(failAt ? { failAt } : {}) });

interface Tracked {
  started: number[];
  ended: number[];
  messages: FromWorker[];
  outcome: Promise<JobOutcome>;
  firstProgress: Promise<void>;
}

function track(runner: JobRunner, id: string, spec: SleepSpec | HandoffSpec): Tracked {
  const t: Partial<Tracked> = { started: [], ended: [], messages: [] };
  let progressed!: () => void;
  t.firstProgress = new Promise((r) => (progressed = r));
  t.outcome = new Promise((resolve) => {
    runner.submit(id, spec, {
      onStart: () => t.started!.push(Date.now()),
      onMessage: (m) => {
        t.messages!.push(m);
        if (m.type === 'progress') progressed();
      },
      onEnd: (o) => {
        t.ended!.push(Date.now());
        resolve(o);
      },
    });
  });
  return t as Tracked;
}

test('jobs run one at a time by default and report progress and results', async () => {
  const runner = new JobRunner({ launcher: forkLauncher });
  const a = track(runner, 'a', sleep(3, 20));
  const b = track(runner, 'b', sleep(2, 20));
  assert.equal(runner.isRunning('a'), true);
  assert.equal(runner.isQueued('b'), true);
  const [oa, ob] = await Promise.all([a.outcome, b.outcome]);
  assert.deepEqual(oa, { status: 'done', result: { kind: 'sleep', steps: 3, stopped: false } });
  assert.deepEqual(ob, { status: 'done', result: { kind: 'sleep', steps: 2, stopped: false } });
  assert.ok(b.started[0]! >= a.ended[0]!, 'b started after a ended');
  assert.deepEqual(
    a.messages.filter((m) => m.type === 'progress').map((m) => (m as { step: number }).step),
    [1, 2, 3],
  );
});

test('cancel: a queued job never starts, a running one stops at its next step', async () => {
  const runner = new JobRunner({ launcher: forkLauncher });
  const a = track(runner, 'a', sleep(200, 50));
  const b = track(runner, 'b', sleep(2, 10));
  assert.equal(runner.cancel('b'), true);
  assert.deepEqual(await b.outcome, { status: 'cancelled' });
  assert.deepEqual(b.started, []);
  await a.firstProgress;
  runner.cancel('a');
  const o = await a.outcome;
  assert.equal(o.status, 'cancelled');
  assert.ok(o.status === 'cancelled' && o.result?.kind === 'sleep' && o.result.stopped && o.result.steps < 200);
  await runner.idle();
  assert.equal(runner.cancel('a'), false, 'nothing left to cancel');
});

test('a failing job reports its message and code; a killed worker is interrupted', async () => {
  const runner = new JobRunner({ launcher: forkLauncher });
  const f = track(runner, 'f', sleep(5, 10, 2));
  assert.deepEqual(await f.outcome, { status: 'failed', error: 'sleep job failed at step 2 (as asked)', code: 'E_TEST' });
  const k = track(runner, 'k', sleep(200, 50));
  await k.firstProgress;
  process.kill(runner.pidOf('k')!, 'SIGKILL');
  assert.deepEqual(await k.outcome, { status: 'interrupted', error: 'the worker process stopped unexpectedly (signal SIGKILL)' });
});

test('the utilityProcess adapter drives the same worker through parentPort', async () => {
  const shim = path.join(import.meta.dirname, 'utility-shim.ts');
  const forked: string[] = [];
  const fakeUtilityProcess: UtilityProcessLike = {
    fork(modulePath, _args, options) {
      forked.push(modulePath);
      const child = fork(shim, [], { execArgv: options?.execArgv ?? [], env: options?.env ?? {}, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      return {
        get pid() {
          return child.pid;
        },
        stderr: child.stderr,
        postMessage: (m: unknown) => void child.send(m as object),
        on: (_e: 'message', l: (m: unknown) => void) => child.on('message', l),
        once: (_e: 'exit', l: (code: number) => void) => child.once('exit', (code) => l(code ?? 1)),
        kill: () => child.kill('SIGKILL'),
      };
    },
  };
  const runner = new JobRunner({ launcher: utilityProcessLauncher(fakeUtilityProcess) });
  const a = track(runner, 'a', sleep(2, 10));
  assert.deepEqual(await a.outcome, { status: 'done', result: { kind: 'sleep', steps: 2, stopped: false } });
  assert.match(forked[0]!, /electron[/\\]jobs[/\\]worker\.ts$/);
  const c = track(runner, 'c', sleep(200, 50));
  await c.firstProgress;
  runner.cancel('c');
  const o = await c.outcome;
  assert.equal(o.status, 'cancelled');
});

test('a hand-off job (files only) starts at once beside a running job, and the next compute job still waits', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const runner = new JobRunner({ launcher: forkLauncher });
    const a = track(runner, 'a', sleep(1_000_000, 50)); // runs until cancelled below
    const b = track(runner, 'b', sleep(1, 10));
    await a.firstProgress;
    const out = path.join(dir, 'handoff');
    const options = { model: fixtureDir('gpt2-shakespeare-d64-l2'), data: path.join(DATA, 'tinyshakespeare.txt#0-0.1'), out, steps: 4, batch: 2, ctx: 32 };
    const h = track(runner, 'h', { kind: 'handoff', options });
    assert.equal(runner.isRunning('h'), true, 'not queued behind the running job');
    assert.equal(runner.isQueued('b'), true, 'the compute job waits');
    const oh = await h.outcome;
    assert.equal(oh.status, 'done', JSON.stringify(oh));
    assert.equal(runner.isRunning('a'), true, 'the hand-off finished while the first job ran');
    assert.ok(existsSync(path.join(out, 'train.py')));
    runner.cancel('a');
    assert.equal((await a.outcome).status, 'cancelled');
    assert.equal((await b.outcome).status, 'done');
  } finally {
    cleanup();
  }
});
