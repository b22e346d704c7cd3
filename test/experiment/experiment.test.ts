/**
 * `scion experiment` end to end on a tiny model and budget: every run trains, every model is
 * evaluated on every dataset, the reports and results.json are written, and --json prints
 * one object with the fields the issue names.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { experimentCommand } from '../../electron/cli/commands/experiment.ts';
import { runCommand } from '../helpers/run-command.ts';
import type { ExperimentResults } from '../../electron/engine/experiment/results.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText, makeTinyModel } from '../train/tiny.ts';

const runCli = (argv: string[]) => runCommand((a, io) => experimentCommand.run(a, io), argv);

describe('scion experiment (tiny budget)', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  test('grows, trains, evaluates and reports', async () => {
    const source = await makeTinyModel(tmp.dir);
    const data = makeText(tmp.dir, 20000);
    const other = makeText(tmp.dir, 5000, 'other.txt');
    const out = path.join(tmp.dir, 'exp');
    const r = await runCli([
      '--source',
      source,
      '--data',
      `${data}#0-0.9`,
      '--val',
      `${data}#0.9-1`,
      '--eval-data',
      other,
      '--target',
      'hidden=64',
      '--methods',
      'hypercloning,hypercloning+moments,zero-pad+rewarm,scratch',
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
      '--source-tokens',
      '1000',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'one JSON object on stdout');
    const j = JSON.parse(lines[0]!) as {
      target_val_loss: number;
      runs: { method: string; initial_val_loss: number; final_val_loss: number; steps_to_target: number | null; speedup: number | null }[];
    };
    assert.deepEqual(
      j.runs.map((x) => x.method),
      ['hypercloning', 'hypercloning+moments', 'zero-pad+rewarm', 'scratch'],
    );
    for (const x of j.runs) {
      for (const k of ['initial_val_loss', 'final_val_loss'] as const) assert.ok(Number.isFinite(x[k]), `${x.method} ${k}`);
      assert.ok('steps_to_target' in x && 'speedup' in x);
    }
    const scratch = j.runs.find((x) => x.method === 'scratch')!;
    assert.equal(scratch.final_val_loss, j.target_val_loss);
    // HyperCloning is exact: it starts where the source is
    const res = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as ExperimentResults;
    const hc = res.runs.find((x) => x.label === 'hypercloning')!;
    assert.ok(Math.abs(hc.initial_val_loss - res.source.val_loss) < 1e-4, `${hc.initial_val_loss} vs source ${res.source.val_loss}`);
    assert.equal(hc.growth?.verdict, 'exact');
    // every run is consistent with the speed-up rules
    for (const x of res.runs.filter((y) => y.method !== 'scratch')) {
      if (x.steps_to_target === 0) assert.equal(x.speedup_kind, 'started_below');
      else if (x.steps_to_target === null) assert.equal(x.speedup, null);
      else assert.equal(x.speedup, res.scratch_steps_to_target / x.steps_to_target);
    }
    const moments = res.runs.find((x) => x.label === 'hypercloning+moments')!;
    assert.equal(moments.moments?.scale, 2);
    assert.equal(res.runs.find((x) => x.label === 'zero-pad+rewarm')!.warmup, 1); // max(warmup 0, round(6 / 10))
    // evaluations: source, 2 grown, 4 trained; each on both datasets
    assert.equal(res.evaluations.length, 1 + 2 + 4);
    for (const e of res.evaluations) assert.deepEqual(Object.keys(e.scores).sort(), res.datasets.map((d) => d.name).sort());
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.match(html, /<svg[\s\S]*<path d="M/);
    assert.match(html, /perplexity/);
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /report-loss\.svg/);
    assert.match(md, /\| hypercloning \|/);
    // the report leads with what was measured; a run that starts below the target claims no speed-up
    const measuredAt = md.indexOf('## What was measured');
    assert.ok(measuredAt > 0 && measuredAt < md.indexOf("## Steps to the scratch run's final validation loss"), 'measured before speed-ups');
    assert.match(md, /- hypercloning vs scratch at equal steps and training FLOPs \(\d+ steps, [\d.]+ [MGTP]?FLOP\): \d\.\d{3} vs \d\.\d{3} \([+-]\d\.\d{3}\)/);
    assert.doesNotMatch(md, />= ?\d/);
    assert.ok(existsSync(path.join(out, 'report-loss.svg')));
    // a second run into the same folder reuses the finished runs
    const again = await runCli([
      '--source',
      source,
      '--data',
      `${data}#0-0.9`,
      '--val',
      `${data}#0.9-1`,
      '--target',
      'hidden=64',
      '--methods',
      'hypercloning',
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
      '--out',
      out,
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /run scratch: already complete/);
  });
});
