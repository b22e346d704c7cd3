/**
 * `+hold` (issue 18): a constant phase at the peak rate after growth. The trainer records
 * `hold` in run.json; its metrics.jsonl's lr column is the intended schedule at every step
 * (re-warm-up, H steps at the peak, then the decay over the remaining steps, written out here
 * by hand); a run stopped inside the hold and resumed equals the uninterrupted one. In an
 * experiment `+hold` combines with `+rewarm`, `+lowlr` and `--tune-lr` (the tuning runs shrink H
 * with their schedule), and ends at the same final rate at the same last step as scratch.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { experimentCommand } from '../../electron/cli/commands/experiment.ts';
import { main } from '../../electron/cli/main.ts';
import { LOW_LR_FACTOR } from '../../electron/engine/experiment/methods.ts';
import type { ExperimentResults } from '../../electron/engine/experiment/results.ts';
import { resolveTrainOptions, type TrainOptions } from '../../electron/engine/train/options.ts';
import { readRunConfig, resumeRun, trainRun } from '../../electron/engine/train/run.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { metrics, type MetricLine } from '../helpers/train-cli.ts';
import { makeText, makeTinyModel, TINY } from '../train/tiny.ts';

const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The intended rate of update i (0-based): linear warm-up over W, H steps at the peak, cosine to the minimum at `steps`. */
function intended(i: number, s: { lr: number; minLr: number; warmup: number; hold: number; steps: number }): number {
  if (i < s.warmup) return (s.lr * (i + 1)) / s.warmup;
  const start = s.warmup + s.hold;
  if (i < start) return s.lr;
  const progress = (i - start) / (s.steps - start);
  return s.minLr + ((s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress))) / 2;
}

function assertSchedule(lines: MetricLine[], s: Parameters<typeof intended>[1], what: string): void {
  const rows = lines.filter((m) => m.step >= 1);
  assert.equal(rows.length, s.steps, `${what}: one line per step`);
  for (const m of rows) {
    const want = intended(m.step - 1, s);
    assert.ok(Math.abs(m.lr! - want) <= 1e-12 * s.lr, `${what} step ${m.step}: lr ${m.lr} != ${want}`);
  }
}

describe('+hold: a constant phase at the peak rate after growth', () => {
  const tmp = tempDir();
  let model: string;
  let data: string;
  before(async () => {
    model = await makeTinyModel(tmp.dir);
    data = makeText(tmp.dir, 8000);
  });
  after(() => tmp.cleanup());

  const opts = (out: string, o: Partial<TrainOptions> = {}): TrainOptions => ({
    model,
    data: `${data}#0-0.9`,
    val: `${data}#0.9-1`,
    out,
    steps: 10,
    batch: 2,
    ctx: 16,
    lr: 1e-2,
    minLr: 1e-3,
    rewarm: 2,
    hold: 3,
    evalEvery: 5,
    evalWindows: 2,
    checkpointEvery: 100,
    ...o,
  });

  test('the trainer: run.json records the hold, the lr column is the schedule, a run stopped in the hold resumes exactly', async () => {
    const ref = await trainRun(opts(path.join(tmp.dir, 'reference')));
    assert.equal(ref.status, 'completed');
    assert.equal((await readRunConfig(path.join(tmp.dir, 'reference'))).options.hold, 3);
    const s = { lr: 1e-2, minLr: 1e-3, warmup: 2, hold: 3, steps: 10 };
    assertSchedule(metrics(path.join(tmp.dir, 'reference')), s, 'reference');

    const out = path.join(tmp.dir, 'stopped');
    const controller = new AbortController();
    const first = await trainRun(opts(out), { signal: controller.signal, onMetric: (m) => m.step === 4 && controller.abort() });
    assert.equal(first.status, 'interrupted');
    assert.equal(first.step, 4, 'stopped inside the hold (steps 3-5)');
    const second = await resumeRun(out);
    assert.equal(second.status, 'completed');
    const pick = (l: MetricLine[]) => l.map((m) => [m.step, m.lr, m.train_loss, m.val_loss]);
    assert.deepEqual(pick(metrics(out)), pick(metrics(path.join(tmp.dir, 'reference'))));
    assert.deepEqual(readFileSync(path.join(out, 'final', 'model.safetensors')), readFileSync(path.join(tmp.dir, 'reference', 'final', 'model.safetensors')));
  });

  test('a hold that does not fit, or is not an integer, is refused; hold 0 records nothing', () => {
    assert.throws(() => resolveTrainOptions(opts('/tmp/x', { hold: 9 }), TINY), /--hold \(9 steps\) plus the warm-up \(2\) must fit in --steps \(10\)/);
    assert.throws(() => resolveTrainOptions(opts('/tmp/x', { hold: 1.5 }), TINY), /--hold must be an integer >= 0/);
    assert.equal(resolveTrainOptions(opts('/tmp/x', { hold: 0 }), TINY).hold, undefined);
  });

  test('scion experiment: +hold with +rewarm, +lowlr and --tune-lr; the same final rate at the same last step as scratch', async () => {
    const out = path.join(tmp.dir, 'exp');
    // scratch warms up 3 steps and the +hold run holds 3: both decay over the last 9 of 12 steps
    const tiny = `--source ${model} --data ${data}#0-0.9 --val ${data}#0.9-1 --target hidden=64 --steps 12 --batch 2 --ctx 16 --eval-every 6 --eval-windows 2 --warmup 3`;
    const methods = 'hypercloning+hold,hypercloning+rewarm+hold+lowlr,scratch';
    const argv = [...tiny.split(' '), '--methods', methods, '--hold', '3', '--rewarm', '2', '--tune-lr', '1e-3,1e-2', '--tune-steps', '6', '--out', out];
    const r = await runCommand((a, io) => experimentCommand.run(a, io), argv);
    assert.equal(r.code, 0, r.stderr);
    const res = readJson<ExperimentResults>(path.join(out, 'results.json'));
    const lrOf = (label: string) => res.tuning!.chosen[label]!;
    const run = (label: string) => res.runs.find((x) => x.label === label)!;

    const hold = run('hypercloning+hold');
    assert.equal(hold.hold, 3);
    assert.equal(hold.warmup, 0);
    const h = { lr: lrOf('hypercloning+hold'), minLr: lrOf('hypercloning+hold') / 10, warmup: 0, hold: 3, steps: 12 };
    assertSchedule(metrics(hold.run_dir), h, 'hypercloning+hold');
    const low = lrOf('hypercloning+rewarm+hold+lowlr') * LOW_LR_FACTOR;
    assertSchedule(metrics(run('hypercloning+rewarm+hold+lowlr').run_dir), { lr: low, minLr: low / 10, warmup: 2, hold: 3, steps: 12 }, '+rewarm+hold+lowlr');
    // scratch's last rate, relative to its own peak, equals the +hold run's (the same decay span)
    const last = (dir: string) => metrics(dir).at(-1)!.lr!;
    const scratch = run('scratch');
    assert.ok(Math.abs(last(hold.run_dir) / h.lr - last(scratch.run_dir) / lrOf('scratch')) < 1e-12);

    // the tuning runs shrink the hold and the re-warm-up with their 6-step schedule
    for (const t of res.tuning!.runs.filter((x) => x.run !== 'scratch')) {
      const o = (await readRunConfig(t.run_dir)).options;
      assert.equal(o.hold, 2, `${t.run_dir}: round(3 x 6 / 12)`);
      const peak = t.lr * (t.run.endsWith('+lowlr') ? LOW_LR_FACTOR : 1);
      assertSchedule(metrics(t.run_dir), { lr: peak, minLr: peak / 10, warmup: t.run.includes('+rewarm') ? 1 : 0, hold: 2, steps: 6 }, t.run_dir);
    }
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /\| hypercloning\+hold \|[^\n]*\| 0, then 3 at peak \|/);
    assert.ok(res.notes.some((n) => n.includes('+hold runs stay at their peak rate for 3 steps')));
    assert.equal(res.settings['hold'], 3);
  });

  test('a +hold that does not fit in the budget is refused before anything is written; +hold on scratch is refused', async () => {
    const out = path.join(tmp.dir, 'refused');
    const base = ['experiment', '--source', model, '--data', data, '--val', data, '--target', 'hidden=64', '--steps', '6', '--out', out];
    const tooLong = await runCommand((a, io) => main(a, io), [...base, '--methods', 'hypercloning+rewarm+hold', '--rewarm', '2', '--hold', '5']);
    assert.equal(tooLong.code, 2);
    assert.match(tooLong.stderr, /'hypercloning\+rewarm\+hold': its constant phase \(--hold 5\) after the re-warm-up \(2\) does not fit in --steps 6/);
    const onScratch = await runCommand((a, io) => main(a, io), [...base, '--methods', 'scratch+hold']);
    assert.equal(onScratch.code, 2);
    assert.match(onScratch.stderr, /after-growth options apply to grown models/);
    assert.equal(existsSync(out), false);
  });
});
