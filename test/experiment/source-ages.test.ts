/**
 * `scion experiment --preset ... --source-ages a,b,c` (issue 18: when to grow), through the real
 * CLI in a child process: the source run is trained once and keeps its model at each age, each
 * earlier age is grown and trained like the other runs (labelled `<run>@src<N>`), the report's
 * "Growing at several source ages" table pays for the source's training up to each age (checked
 * against the tokens the source run's own metrics.jsonl records at that step), a re-run trains
 * nothing, an age the finished source did not keep is retrained beside it to the same bytes, a
 * source stopped between ages continues, and ages beyond the source's steps are refused before
 * anything is written.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../electron/cli/main.ts';
import { initBackend } from '../../electron/engine/backend.ts';
import { isScionError } from '../../electron/engine/errors.ts';
import { presetExperiment } from '../../electron/engine/experiment/presets.ts';
import { runExperiment } from '../../electron/engine/experiment/run-experiment.ts';
import type { ExperimentResults } from '../../electron/engine/experiment/results.ts';
import { runCommand, runScion } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { metrics } from '../helpers/train-cli.ts';
import { makeText } from '../train/tiny.ts';

const readJson = <T>(file: string) => JSON.parse(readFileSync(file, 'utf8')) as T;
const count = (text: string, re: RegExp) => text.match(new RegExp(re.source, 'g'))?.length ?? 0;

describe('scion experiment --source-ages', () => {
  const tmp = tempDir();
  let corpus: string;
  before(() => {
    // the smoke preset's source reads the first 1% in 8 x 32 windows: 12 steps need 3,073 tokens
    corpus = makeText(tmp.dir, 330_000, 'corpus.txt');
  });
  after(() => tmp.cleanup());
  const env = { SCION_THREADS: '1' }; // one thread: a retrained age is the same bytes
  const cli = (out: string, ages: string, ...more: string[]) =>
    runScion(
      [
        'experiment',
        ...['--preset', 'papers-smoke', '--corpus', corpus, '--source-steps', '12', '--steps', '6', '--batch', '2', '--ctx', '16'],
        ...['--eval-every', '3', '--eval-windows', '4', '--methods', 'hypercloning', '--source-ages', ages, '--out', out, ...more],
      ],
      { env },
    );

  test('ages beyond the source, unknown age methods and ages without a preset are refused before anything is written', async () => {
    const out = path.join(tmp.dir, 'refused');
    const beyond = cli(out, '4,20');
    assert.equal(beyond.code, 2, beyond.stderr);
    assert.match(beyond.stderr, /--source-ages: 20 is beyond the source's 12 training steps \(--source-steps\)/);
    const inProcess = (argv: string[]) => runCommand((a, io) => main(['experiment', ...a], io), argv);
    const preset = ['--preset', 'papers-smoke', '--corpus', corpus, '--source-steps', '12', '--steps', '6', '--out', out];
    const notRun = await inProcess([...preset, '--methods', 'hypercloning', '--source-ages', '4', '--age-methods', 'zero-pad']);
    assert.equal(notRun.code, 2);
    assert.match(notRun.stderr, /--age-methods: 'zero-pad' is not a grown run of --methods \(hypercloning\)/);
    const alone = await inProcess([...preset, '--age-methods', 'hypercloning']);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /give --source-ages too/);
    const bad = await inProcess([...preset, '--source-ages', '4,x']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--source-ages takes source steps/);
    const noPreset = await inProcess([
      '--source',
      'm',
      '--data',
      corpus,
      '--val',
      corpus,
      '--target',
      'hidden=64',
      '--steps',
      '4',
      '--source-ages',
      '2',
      '--out',
      out,
    ]);
    assert.equal(noPreset.code, 2);
    assert.match(noPreset.stderr, /--source-ages grows the source at earlier steps of its training: use it with --preset/);
    assert.equal(existsSync(out), false);
  });

  test('the source is trained once and kept at each age; each age is grown, trained and paid for up to that age; a re-run trains nothing', () => {
    const out = path.join(tmp.dir, 'exp');
    const first = cli(out, '4,8,12');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(count(first.stderr, /source: training 12 steps/), 1, first.stderr);
    for (const a of [4, 8]) assert.match(first.stderr, new RegExp(`source: kept its model at step ${a} `));
    const res = readJson<ExperimentResults>(path.join(out, 'results.json'));
    const ages = res.ages!;
    assert.deepEqual(
      ages.map((a) => [a.step, a.final, a.runs.map((x) => x.label)]),
      [
        [4, false, ['hypercloning@src4']],
        [8, false, ['hypercloning@src8']],
        [12, true, ['hypercloning']],
      ],
    );
    assert.deepEqual([res.settings['source_ages'], res.settings['age_methods']], [[4, 8, 12], ['hypercloning']]);
    const source = metrics(path.join(out, 'source', 'run'));
    assert.deepEqual(
      source.map((m) => m.step),
      Array.from({ length: 13 }, (_, i) => i),
      'one uninterrupted-looking run: every step once',
    );
    const scratch = res.runs.find((x) => x.label === 'scratch')!;
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    assert.match(md, /### Growing at several source ages/);
    for (const a of ages) {
      // the source's cost at this age, from its own run's record
      assert.equal(a.tokens, source.find((m) => m.step === a.step)!.tokens, `tokens at step ${a.step}`);
      const flops = (res.source.training_flops! * a.tokens) / res.source.training_tokens!;
      assert.ok(Math.abs(a.training_flops - flops) <= 1e-9 * flops, `FLOPs at step ${a.step}`);
      const x = a.runs[0]!;
      assert.ok(existsSync(path.join(x.run_dir, 'result.json')), x.run_dir);
      assert.equal(x.steps, 6);
      // HyperCloning keeps the function: each age's run starts at that age's source
      assert.ok(Math.abs(x.initial_val_loss - a.val_loss) < 1e-4, `${x.label}: ${x.initial_val_loss} vs ${a.val_loss}`);
      const atAge = res.evaluations.find((e) => e.run === (a.final ? undefined : `source@${a.step}`) && e.stage === 'source')!;
      assert.equal(atAge.scores[res.datasets[0]!.name]!.loss, a.val_loss);
      // the paid speed-up: scratch's FLOPs to the target / (the run's + the source's up to this age)
      assert.ok(x.flops_to_target !== null, `${x.label} reaches the target`);
      assert.equal(x.flops_to_target_with_source, x.flops_to_target! + a.training_flops);
      const want = scratch.flops_to_target! / (x.flops_to_target! + a.training_flops);
      assert.ok(Math.abs(x.speedup_with_source! - want) < 1e-12 * want, `${x.label}: ${x.speedup_with_source} vs ${want}`);
      assert.ok(md.includes(`| ${x.label} | ${x.initial_val_loss.toFixed(4)} | ${x.final_val_loss.toFixed(4)} |`), `${x.label}'s row`);
      assert.ok(md.includes(`| ${want.toFixed(2)}x |`), `${x.label}'s paid speed-up ${want.toFixed(2)}x in the report`);
    }
    assert.ok(ages[0]!.val_loss > ages[1]!.val_loss && ages[1]!.val_loss > ages[2]!.val_loss, 'the source learns between ages');

    const again = cli(out, '4,8,12');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /source: already trained, reusing/);
    assert.match(again.stderr, /source: reusing its models at step\(s\) 4, 8/);
    assert.doesNotMatch(again.stderr, /kept its model|training \d+ steps/);
    for (const label of ['hypercloning@src4', 'hypercloning@src8']) assert.match(again.stderr, new RegExp(`run ${label}: already complete`));

    // an age the finished source did not keep: its run is retrained beside it up to that step, to the same model
    const kept = readFileSync(path.join(out, 'source', 'ages', 'step-4', 'model.safetensors'));
    rmSync(path.join(out, 'source', 'ages', 'step-4'), { recursive: true });
    const third = cli(out, '4,8,12');
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, /source: training a copy of the source run up to step 4/);
    assert.deepEqual(readFileSync(path.join(out, 'source', 'ages', 'step-4', 'model.safetensors')), kept);
    assert.match(third.stderr, /run hypercloning@src4: already complete/, 'the same source age: its run is reused');
  });

  test('Ctrl-C while the source trains between ages: the same command continues it, keeping every age once', async () => {
    await initBackend('wasm');
    const out = path.join(tmp.dir, 'stopped');
    const opts = {
      ...presetExperiment('papers-smoke', corpus, out, {
        methods: 'hypercloning',
        sourceSteps: 12,
        training: { steps: 2, batch: 2, ctx: 16, evalEvery: 2, evalWindows: 2 },
      }),
      sourceAges: [4, 8],
      threads: 1,
    };
    const stop = new AbortController();
    const logs: string[] = [];
    await assert.rejects(
      runExperiment(opts, { signal: stop.signal, onLog: (l) => logs.push(l), onProgress: (label, p) => label === 'source' && p.step === 6 && stop.abort() }),
      (e: unknown) => isScionError(e) && e.code === 'E_INTERRUPTED',
    );
    assert.ok(existsSync(path.join(out, 'source', 'ages', 'step-4', 'config.json')), 'age 4 kept before the stop');
    assert.equal(existsSync(path.join(out, 'source', 'ages', 'step-8')), false);
    const res = await runExperiment(opts, { onLog: (l) => logs.push(l) });
    assert.deepEqual(
      res.ages!.map((a) => a.step),
      [4, 8, 12],
    );
    assert.equal(logs.filter((l) => /kept its model at step 4 /.test(l)).length, 1, logs.join('\n'));
    assert.equal(logs.filter((l) => /kept its model at step 8 /.test(l)).length, 1, logs.join('\n'));
    assert.ok(logs.some((l) => /source: resuming 12 steps/.test(l)));
    assert.deepEqual(
      metrics(path.join(out, 'source', 'run')).map((m) => m.step),
      Array.from({ length: 13 }, (_, i) => i),
    );
  });
});
