/**
 * Training and evaluation on several CPU threads (train/parallel): the losses of 50 steps on
 * 1 and 2 threads agree to 1e-5 (the split changes only the order of float additions), an
 * interrupted 2-thread run resumes to exactly the losses of an uninterrupted one, an
 * evaluation on 2 threads equals the 1-thread one, and no tensors are left behind.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { evaluate } from '../../electron/engine/eval/evaluate.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { startThreads, evaluateWith } from '../../electron/engine/train/parallel/start.ts';
import { resolveThreads, threadsPerJob } from '../../electron/engine/train/parallel/threads.ts';
import { splitEvenly } from '../../electron/engine/train/parallel/pool.ts';
import { resumeRun, trainRun, type TrainResult } from '../../electron/engine/train/run.ts';
import type { MetricLine } from '../../electron/engine/train/metrics.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture } from '../growth/helpers.ts';
import { growModelDir } from '../../electron/engine/growth/index.ts';
import { evalCommand } from '../../electron/cli/commands/eval.ts';
import { makeText, makeTinyModel } from './tiny.ts';

const losses = (r: TrainResult, key: 'train_loss' | 'val_loss') =>
  r.metrics.filter((m: MetricLine) => m[key] !== undefined).map((m) => [m.step, m[key]!] as const);

describe('training on several CPU threads', () => {
  const tmp = tempDir();
  let model: string;
  let data: string;
  let val: string;
  const base = () => ({
    model,
    data,
    val,
    init: 'scratch' as const,
    steps: 50,
    batch: 6,
    ctx: 16,
    lr: 3e-3,
    warmup: 5,
    evalEvery: 10,
    evalWindows: 8,
    seed: 3,
  });

  before(async () => {
    model = await makeTinyModel(tmp.dir);
    data = makeText(tmp.dir, 30000);
    val = makeText(tmp.dir, 4000, 'val.txt');
    await ensureGradients();
  });
  after(() => tmp.cleanup());

  test('50 steps on 1 and 2 threads: the same losses to 1e-5', async () => {
    const n0 = tf.memory().numTensors;
    const logs: string[] = [];
    const one = await trainRun({ ...base(), out: path.join(tmp.dir, 'one') }, { threads: 1, onLog: (l) => logs.push(l) });
    const two = await trainRun({ ...base(), out: path.join(tmp.dir, 'two') }, { threads: 2, onLog: (l) => logs.push(l) });
    assert.ok(logs.includes('training on 2 CPU threads'), `the 2-thread run used its threads (log: ${logs.join(' | ')})`);
    assert.ok(!logs.some((l) => l.includes('training on') && l.includes('1 CPU')), 'the 1-thread run started no threads');
    for (const key of ['train_loss', 'val_loss'] as const) {
      const a = losses(one, key);
      const b = losses(two, key);
      assert.equal(a.length, key === 'train_loss' ? 50 : 6);
      assert.deepEqual(
        a.map(([s]) => s),
        b.map(([s]) => s),
      );
      let worst = 0;
      a.forEach(([, x], i) => (worst = Math.max(worst, Math.abs(x - b[i]![1]))));
      assert.ok(worst <= 1e-5, `${key}: max |1 thread - 2 threads| = ${worst}`);
    }
    // the runs learned something (a broken reduction would not match 1 thread, a no-op would not fall)
    const t = losses(one, 'train_loss');
    assert.ok(t[t.length - 1]![1] < t[0]![1] - 0.5, `loss fell: ${t[0]![1]} -> ${t[t.length - 1]![1]}`);
    assert.equal(tf.memory().numTensors, n0, 'no tensors left behind');
  });

  test('an interrupted 2-thread run resumes to exactly the losses of an uninterrupted one', async () => {
    const opts = { ...base(), steps: 20, checkpointEvery: 4 };
    const full = await trainRun({ ...opts, out: path.join(tmp.dir, 'full') }, { threads: 2 });
    const stop = new AbortController();
    const out = path.join(tmp.dir, 'cut');
    const cut = await trainRun({ ...opts, out }, { threads: 2, signal: stop.signal, onMetric: (m) => m.step === 7 && stop.abort() });
    assert.equal(cut.status, 'interrupted');
    assert.equal(cut.step, 7);
    const resumed = await resumeRun(out, { threads: 2 });
    assert.equal(resumed.status, 'completed');
    assert.deepEqual(losses(resumed, 'train_loss'), losses(full, 'train_loss'));
    assert.deepEqual(losses(resumed, 'val_loss'), losses(full, 'val_loss'));
  });

  test('masked growth (--mask-ramp): 1 and 2 threads give the same losses to 1e-5', async () => {
    const grown = path.join(tmp.dir, 'grown');
    await growModelDir(fixture('llama-shakespeare-h64-l2'), grown, { method: 'msg', hidden: 96, ffn: 192, layers: 3, depth: 'identity', checkLength: 32 });
    const o = { model: grown, data, val, steps: 8, batch: 4, ctx: 32, lr: 3e-3, evalEvery: 2, evalWindows: 4, seed: 4, maskRamp: 6 };
    const one = await trainRun({ ...o, out: path.join(tmp.dir, 'msg1') }, { threads: 1 });
    const two = await trainRun({ ...o, out: path.join(tmp.dir, 'msg2') }, { threads: 2 });
    for (const key of ['train_loss', 'val_loss'] as const) {
      const a = losses(one, key);
      const b = losses(two, key);
      assert.equal(a.length, key === 'train_loss' ? 8 : 5);
      a.forEach(([st, x], i) => assert.ok(Math.abs(x - b[i]![1]) <= 1e-5, `${key} at step ${st}: ${x} vs ${b[i]![1]}`));
    }
  });

  test('evaluation on 2 threads equals evaluation on 1', async () => {
    const m = await loadModel(model);
    const n0 = tf.memory().numTensors;
    const ids = Uint32Array.from({ length: 3000 }, (_, i) => (i * 7919) % 256);
    const started = await startThreads(2, m.config, m.params, 100);
    assert.ok(started.pool, 'a pool started');
    try {
      const a = await evaluate(m, ids, { ctx: 16, batch: 5 });
      const b = await evaluateWith(started.pool, m, ids, { ctx: 16, batch: 5 });
      assert.equal(b.windows, a.windows);
      assert.equal(b.tokens, a.tokens);
      assert.ok(Math.abs(a.loss - b.loss) < 1e-6, `loss ${a.loss} vs ${b.loss}`);
      assert.equal(b.accuracy, a.accuracy);
      assert.equal(b.windowLosses.length, a.windowLosses.length, 'one loss per window, for standard errors and paired comparisons');
      a.windowLosses.forEach((x, i) => assert.ok(Math.abs(x - b.windowLosses[i]!) < 1e-5, `window ${i}: ${x} vs ${b.windowLosses[i]}`));
      assert.ok(b.lossStdErr !== undefined && Math.abs(b.lossStdErr - a.lossStdErr!) < 1e-6);
    } finally {
      await started.pool.close();
      disposeParams(m.params);
    }
    assert.equal(tf.memory().numTensors, n0 - Object.keys(m.params).length);
  });

  test('scion eval --threads 2 and --threads 1 agree; --threads 0 is refused', async () => {
    const big = makeText(tmp.dir, 12000, 'eval.txt');
    const run = (t: string) => runCommand((a, io) => evalCommand.run(a, io), [model, '--data', big, '--ctx', '32', '--batch', '4', '--threads', t, '--json']);
    const [one, two] = [await run('1'), await run('2')];
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    const a = JSON.parse(one.stdout) as { loss: number; accuracy: number; windows: number };
    const b = JSON.parse(two.stdout) as typeof a;
    assert.ok(a.windows > 8, `${a.windows} windows: several batches to share`);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-6, `loss ${a.loss} vs ${b.loss}`);
    assert.equal(b.accuracy, a.accuracy);
    await assert.rejects(run('0'), /--threads must be an integer >= 1/);
  });

  test('thread budgets: --threads, SCION_THREADS, jobs never oversubscribe', () => {
    assert.equal(resolveThreads(3), 3);
    assert.throws(() => resolveThreads(0), /--threads must be an integer >= 1/);
    const saved = process.env['SCION_THREADS'];
    try {
      process.env['SCION_THREADS'] = '5';
      assert.equal(resolveThreads(), 5);
      process.env['SCION_THREADS'] = 'x';
      assert.throws(() => resolveThreads(), /SCION_THREADS must be an integer/);
    } finally {
      if (saved === undefined) delete process.env['SCION_THREADS'];
      else process.env['SCION_THREADS'] = saved;
    }
    for (const total of [1, 2, 3, 8, 16])
      for (const jobs of [1, 2, 3, 4, 16]) {
        const t = threadsPerJob(jobs, total);
        assert.ok(t >= 1 && (jobs * t <= total || t === 1), `${jobs} jobs x ${t} threads on ${total}`);
      }
    assert.deepEqual(splitEvenly(7, 3), [
      [0, 2],
      [2, 4],
      [4, 7],
    ]);
  });
});
