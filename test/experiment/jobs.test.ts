/**
 * `scion experiment --jobs 2` trains the runs in child processes, side by side, and gets the
 * same metrics as the same experiment run one run at a time in this process: same curves,
 * same target, same steps-to-target and speed-ups. Also the pool's ordering and failure rules.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { experimentCommand } from '../../electron/cli/commands/experiment.ts';
import { runCommand } from '../helpers/run-command.ts';
import { runPool } from '../../electron/engine/experiment/pool.ts';
import type { ExperimentResults } from '../../electron/engine/experiment/results.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText, makeTinyModel } from '../train/tiny.ts';

const runCli = (argv: string[]) => runCommand((a, io) => experimentCommand.run(a, io), argv);

describe('runPool', () => {
  test('keeps at most N going, starts in order, runs everything', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await runPool([30, 5, 20, 5, 10], 2, async (ms, i) => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
    });
    assert.deepEqual(started, [0, 1, 2, 3, 4]);
    assert.equal(peak, 2);
  });

  test('after a failure starts nothing new, stops the others once and rethrows the first error', async () => {
    const started: number[] = [];
    let stops = 0;
    await assert.rejects(
      runPool(
        [0, 1, 2, 3],
        2,
        async (i) => {
          started.push(i);
          await new Promise((r) => setTimeout(r, 5));
          if (i === 0) throw new Error('boom 0');
          if (i === 1) throw new Error('boom 1');
        },
        { onFailure: () => stops++ },
      ),
      /boom 0/,
    );
    assert.deepEqual(started, [0, 1]);
    assert.equal(stops, 1);
  });
});

describe('scion experiment --jobs', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  test('child-process runs give the same results as in-process runs', async () => {
    const source = await makeTinyModel(tmp.dir);
    const data = makeText(tmp.dir, 20000);
    const common = [
      '--source',
      source,
      '--data',
      `${data}#0-0.9`,
      '--val',
      `${data}#0.9-1`,
      '--target',
      'hidden=64',
      '--methods',
      'hypercloning,zero-pad+moments,scratch',
      '--steps',
      '6',
      '--batch',
      '2',
      '--ctx',
      '16',
      '--eval-every',
      '2',
      '--eval-windows',
      '4',
      '--moment-steps',
      '2',
      // the same threads per run in both (--jobs 2 would otherwise halve them): results equal exactly
      '--threads',
      '1',
      '--json',
    ];
    const seq = await runCli([...common, '--out', path.join(tmp.dir, 'seq')]);
    assert.equal(seq.code, 0, seq.stderr);
    assert.doesNotMatch(seq.stderr, /child processes/);
    const par = await runCli([...common.slice(0, -3), '--threads', '2', '--json', '--jobs', '2', '--out', path.join(tmp.dir, 'par')]);
    assert.equal(par.code, 0, par.stderr);
    assert.match(par.stderr, /up to 2 at a time in child processes, 1 CPU thread\(s\) each/);
    assert.equal((par.stderr.match(/\] process \d+/g) ?? []).length, 3, 'one child process per run');

    const read = (d: string) => JSON.parse(readFileSync(path.join(tmp.dir, d, 'results.json'), 'utf8')) as ExperimentResults;
    const a = read('seq');
    const b = read('par');
    assert.equal(b.settings['jobs'], 2);
    assert.equal(b.target_val_loss, a.target_val_loss);
    assert.equal(b.scratch_steps_to_target, a.scratch_steps_to_target);
    assert.deepEqual(
      b.runs.map((x) => x.label),
      a.runs.map((x) => x.label),
    );
    for (const [i, x] of a.runs.entries()) {
      const y = b.runs[i]!;
      assert.deepEqual(y.curve, x.curve, `${x.label}: validation curve`);
      assert.deepEqual(y.train_curve, x.train_curve, `${x.label}: training curve`);
      assert.equal(y.steps_to_target, x.steps_to_target);
      assert.equal(y.speedup, x.speedup);
    }
    // the trained models score the same on the eval sets too
    assert.deepEqual(
      b.evaluations.map((e) => [e.stage, e.run, e.scores]),
      a.evaluations.map((e) => [e.stage, e.run, e.scores]),
    );
    // a second --jobs run into the same folder reuses every finished run
    const again = await runCli([...common, '--jobs', '2', '--out', path.join(tmp.dir, 'par')]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((again.stderr.match(/already complete/g) ?? []).length, 3);
  });

  test('--jobs must be a positive integer', async () => {
    const r = await runCli(['--source', 'x', '--data', 'd', '--val', 'v', '--target', 'hidden=64', '--steps', '1', '--out', 'o', '--jobs', '0']).catch(
      (e: Error) => ({
        code: -1,
        stdout: '',
        stderr: e.message,
      }),
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--jobs must be an integer >= 1/);
  });
});
