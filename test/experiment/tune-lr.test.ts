/**
 * `scion experiment --tune-lr`: every arm (scratch and each grown run) is tuned the same way.
 * On a tiny experiment: every tuning run (arm x rate) is trained and recorded with the
 * validation loss its own metrics.jsonl ends with, each arm's full run trains at the argmin of
 * its recorded tuning losses (+lowlr still scales it), the report lists every tuning run, a
 * re-run reuses them, and bad flags are refused before anything is written.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { experimentCommand } from '../../electron/cli/commands/experiment.ts';
import { main } from '../../electron/cli/main.ts';
import type { ExperimentResults } from '../../electron/engine/experiment/results.ts';
import { LOW_LR_FACTOR } from '../../electron/engine/experiment/methods.ts';
import { parseTuneLr } from '../../electron/engine/experiment/tune-lr.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText, makeTinyModel } from '../train/tiny.ts';

const runCli = (argv: string[]) => runCommand((a, io) => experimentCommand.run(a, io), argv);
/** Through `main`, which turns errors into messages and exit codes as the CLI does. */
const runMain = (argv: string[]) => runCommand((a, io) => main(['experiment', ...a], io), argv);

const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;

/** The last validation loss a run folder's own metrics.jsonl records. */
function lastValLoss(runDir: string): { step: number; val_loss: number } {
  const lines = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; val_loss?: number })
    .filter((m) => m.val_loss !== undefined);
  return lines[lines.length - 1] as { step: number; val_loss: number };
}

describe('scion experiment --tune-lr', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const LRS = [1e-4, 3e-2];

  test('records every tuning run, trains each arm at the argmin of its tuning losses, reuses them on a re-run', async () => {
    const source = await makeTinyModel(tmp.dir);
    const data = makeText(tmp.dir, 20000);
    const out = path.join(tmp.dir, 'exp');
    // (temporary paths have no spaces)
    const tiny = `--source ${source} --data ${data}#0-0.9 --val ${data}#0.9-1 --target hidden=64 --steps 6 --batch 2 --ctx 16 --eval-every 2 --eval-windows 4 --warmup 2`;
    const args = [...tiny.split(' '), '--methods', 'hypercloning,hypercloning+lowlr,scratch', '--tune-lr', LRS.join(','), '--tune-steps', '3', '--out', out];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    const res = readJson<ExperimentResults>(path.join(out, 'results.json'));
    const t = res.tuning!;
    assert.equal(t.steps, 3);
    assert.deepEqual(t.lrs, LRS);
    const arms = ['hypercloning', 'hypercloning+lowlr', 'scratch'];
    assert.deepEqual(t.runs.map((x) => `${x.run}@${x.lr}`).sort(), arms.flatMap((a) => LRS.map((lr) => `${a}@${lr}`)).sort());
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /### Learning-rate tuning \(3 steps per tuning run\)/);
    for (const x of t.runs) {
      // recorded as its own run folder says, at its last step (the tuning budget)
      const last = lastValLoss(x.run_dir);
      assert.equal(last.step, 3);
      assert.equal(x.final_val_loss, last.val_loss);
      const runJson = readJson<{ options: { steps: number; lr: number; warmup: number } }>(path.join(x.run_dir, 'run.json'));
      assert.equal(runJson.options.steps, 3);
      assert.ok(Math.abs(runJson.options.lr - x.lr * (x.run.endsWith('+lowlr') ? LOW_LR_FACTOR : 1)) < 1e-12, `${x.run} ${runJson.options.lr}`);
      if (x.run === 'scratch') assert.equal(runJson.options.warmup, 1, 'the warm-up shrinks with the budget: round(2 x 3 / 6)');
      assert.ok(md.includes(`| ${x.run} | ${x.lr} | ${x.final_val_loss.toFixed(4)} |`), `${x.run} ${x.lr} in the report`);
    }
    for (const arm of arms) {
      const mine = t.runs.filter((x) => x.run === arm);
      const argmin = mine.reduce((a, b) => (b.final_val_loss < a.final_val_loss ? b : a));
      assert.equal(t.chosen[arm], argmin.lr, arm);
      const full = res.runs.find((x) => x.label === arm)!;
      const want = argmin.lr * (arm.endsWith('+lowlr') ? LOW_LR_FACTOR : 1);
      assert.ok(Math.abs(full.lr! - want) < 1e-12, `${arm}: ${full.lr} vs ${want}`);
      const runJson = readJson<{ options: { steps: number; lr: number } }>(path.join(full.run_dir, 'run.json'));
      assert.equal(runJson.options.steps, 6);
      assert.ok(Math.abs(runJson.options.lr - want) < 1e-12);
    }
    assert.ok(res.notes.some((n) => n.startsWith('Learning rates tuned')));

    const again = await runCli(args);
    assert.equal(again.code, 0, again.stderr);
    for (const arm of arms) for (const lr of LRS) assert.ok(again.stderr.includes(`run ${arm}--lr-${lr}: already complete`), `${arm} ${lr} reused`);
  });

  test('bad flags are refused before anything is written', async () => {
    assert.throws(() => parseTuneLr('1e-3,x'), /positive learning rates/);
    assert.throws(() => parseTuneLr('1e-3,1e-3'), /listed twice/);
    const source = await makeTinyModel(tmp.dir, undefined, 'm2');
    const data = makeText(tmp.dir, 5000, 'd2.txt');
    const out = path.join(tmp.dir, 'refused');
    const base = ['--source', source, '--data', data, '--val', data, '--target', 'hidden=64', '--steps', '4', '--out', out];
    const tooLong = await runMain([...base, '--tune-lr', '1e-3', '--tune-steps', '5']);
    assert.equal(tooLong.code, 2);
    assert.match(tooLong.stderr, /--tune-steps must be an integer from 1 to the budget \(4 steps\)/);
    const alone = await runMain([...base, '--tune-steps', '2']);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /give --tune-lr too/);
    assert.equal(existsSync(out), false);
  });
});
