/**
 * `scion experiment --preset`: the papers' setup (issue 18). The presets' promises are checked
 * on their own numbers: the target has >= 4x the source's parameters, the source's, the target
 * runs' and the validation slices of the corpus never overlap, and on the GCIDE corpus
 * (34,902,197 bytes, scripts/make-corpus.sh) no run reads a token twice. Then the real CLI
 * runs the smoke preset on a small text: it trains the source first, counts its tokens as its
 * cost, and reuses the trained source on a second run.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { experimentCommand } from '../../electron/cli/commands/experiment.ts';
import { trainFlops } from '../../electron/engine/experiment/flops.ts';
import { EXPERIMENT_PRESETS, PRESET_NAMES, presetExperiment } from '../../electron/engine/experiment/presets.ts';
import type { ExperimentResults } from '../../electron/engine/experiment/results.ts';
import { planGrowth } from '../../electron/engine/growth/plan.ts';
import { parameterCount } from '../../electron/engine/models/family.ts';
import { sequentialTokensNeeded } from '../../electron/engine/train/batches.ts';
import { trainTokenizer } from '../../electron/engine/tokenizer/train-tokenizer.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText } from '../train/tiny.ts';

const GCIDE_BYTES = 34_902_197;
const runCli = (argv: string[]) => runCommand((a, io) => experimentCommand.run(a, io), argv);

describe('experiment presets', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  for (const name of PRESET_NAMES) {
    test(`${name}: target >= 4x the source, wider and deeper; slices disjoint; no token read twice on GCIDE`, () => {
      const p = EXPERIMENT_PRESETS[name]!;
      const target = planGrowth(p.source, { method: 'hypercloning', ...p.target, depth: 'identity' });
      assert.ok(parameterCount(target) >= 4 * parameterCount(p.source), `${parameterCount(target)} vs ${parameterCount(p.source)}`);
      assert.ok(p.target.hidden! > p.source.nEmbd && p.target.layers! > p.source.nLayer);
      const { source, train, val } = p.slices;
      assert.ok(source[1] <= train[0] && train[1] <= val[0], 'source | train | val in that order, not overlapping');
      for (const [slice, t] of [
        [source, p.sourceTraining],
        [train, p.training],
      ] as const) {
        assert.equal(t.sampler, 'sequential');
        const tokens = Math.floor((slice[1] - slice[0]) * GCIDE_BYTES);
        const need = sequentialTokensNeeded(t.steps, t.ctx!, t.batch!);
        assert.ok(need <= tokens, `${name}: ${need} tokens needed, the slice has ${tokens}`);
      }
      // the source is trained on a fraction of the target's budget
      assert.ok(p.sourceTraining.steps * p.sourceTraining.batch! * p.sourceTraining.ctx! < p.training.steps * p.training.batch! * p.training.ctx!);
    });
  }

  test('overrides change the run, not the recipe; an unknown preset is named', () => {
    const o = presetExperiment('papers-cpu', '/c.txt', '/out', { training: { steps: 10 }, sourceSteps: 5, methods: 'hypercloning' });
    assert.equal(o.training.steps, 10);
    assert.equal(o.training.sampler, 'sequential');
    assert.equal(o.sourceRecipe!.training.steps, 5);
    assert.equal(o.sourceRecipe!.data, '/c.txt#0-0.05');
    assert.equal(o.data, '/c.txt#0.05-0.98');
    assert.equal(o.val, '/c.txt#0.98-1');
    assert.throws(() => presetExperiment('papers-tpu', '/c.txt', '/out'), /unknown preset 'papers-tpu' \(choose from papers-cpu, papers-gpu, papers-smoke\)/);
  });

  test('the cpu and gpu presets also evaluate on the three shipped corpora; --eval-data replaces them; the smoke preset skips them', () => {
    for (const name of ['papers-cpu', 'papers-gpu']) {
      const evalData = presetExperiment(name, '/c.txt', '/out').evalData ?? [];
      assert.deepEqual(
        evalData.map((f) => path.basename(f)),
        ['python-stdlib.txt', 'tinyshakespeare.txt', 'wikitext2-valid.txt'],
      );
      for (const f of evalData) assert.ok(existsSync(f), f);
      assert.deepEqual(presetExperiment(name, '/c.txt', '/out', { evalData: ['/d.txt'] }).evalData, ['/d.txt']);
    }
    assert.equal(presetExperiment('papers-smoke', '/c.txt', '/out').evalData, undefined);
  });

  test('--preset cannot be combined with --source; a missing corpus is named before anything is written', async () => {
    await assert.rejects(
      runCli(['--preset', 'papers-smoke', '--corpus', 'x.txt', '--source', 'm', '--out', path.join(tmp.dir, 'no')]),
      /--source cannot be combined with --preset/,
    );
    assert.ok(!existsSync(path.join(tmp.dir, 'no')));
    const missing = path.join(tmp.dir, 'missing.txt');
    await assert.rejects(runCli(['--preset', 'papers-smoke', '--corpus', missing, '--out', path.join(tmp.dir, 'no')]), /missing\.txt: dataset not found/);
    assert.ok(!existsSync(path.join(tmp.dir, 'no')), 'nothing written for a missing corpus');
  });

  test('the smoke preset trains the source, grows it and counts the source as paid', async () => {
    const corpus = makeText(tmp.dir, 100_000, 'corpus.txt');
    const out = path.join(tmp.dir, 'exp');
    const argv = ['--preset', 'papers-smoke', '--corpus', corpus, '--steps', '4', '--source-steps', '3', '--methods', 'hypercloning'];
    const tail = ['--eval-every', '2', '--eval-windows', '4', '--out', out, '--json'];
    const r = await runCli([...argv, ...tail]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as ExperimentResults;
    assert.equal(res.source.training_tokens, 3 * 8 * 32, 'the source read 3 steps of 8 x 32 tokens');
    // charged at the context it trained at (32), not its n_positions (64)
    const src = EXPERIMENT_PRESETS['papers-smoke']!.source;
    assert.equal(res.source.training_flops, trainFlops(src, 32, 3 * 8 * 32));
    assert.ok(trainFlops(src, 64, 3 * 8 * 32) > res.source.training_flops!);
    assert.equal(res.source.trained_here?.data, `${corpus}#0-0.01`);
    assert.equal(res.source.trained_here?.sampler, 'sequential');
    assert.equal(res.settings.sampler, 'sequential');
    assert.equal(res.source.dir, path.join(out, 'source', 'run', 'final'));
    assert.equal(res.target.config.family === 'gpt2' && res.target.config.nLayer, 2);
    const hc = res.runs.find((x) => x.label === 'hypercloning')!;
    assert.ok(Math.abs(hc.initial_val_loss - res.source.val_loss) < 1e-4, 'HyperCloning starts at the trained source');
    if (hc.flops_to_target !== null) {
      assert.ok(hc.flops_to_target_with_source! > hc.flops_to_target, 'the source is paid for');
      assert.ok(hc.speedup_with_source! < hc.speedup!, 'paying for the source lowers the speed-up');
    }
    assert.equal(res.runs.find((x) => x.label === 'scratch')!.speedup_with_source, 1);
    assert.match(readFileSync(path.join(out, 'report.md'), 'utf8'), /\| source training \| trained here: 3 steps of 8 x 32 tokens \(768 tokens/);
    // a second run reuses the trained source
    const again = await runCli([...argv, ...tail]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /source: already trained, reusing/);
  });

  test('--tokenizer: the smoke preset reads the corpus through a trained BPE, every model carries it; --tune-lr tunes every arm; another tokenizer retrains the source', async () => {
    const corpus = makeText(tmp.dir, 300_000, 'corpus-bpe.txt');
    const tok = path.join(tmp.dir, 'bpe');
    await trainTokenizer({ data: [`${corpus}#0-0.97`], vocabSize: 300, out: tok });
    const out = path.join(tmp.dir, 'exp-bpe');
    const argv = ['--preset', 'papers-smoke', '--corpus', corpus, '--steps', '4', '--source-steps', '2', '--methods', 'hypercloning', '--tokenizer', tok];
    const tail = ['--eval-every', '2', '--eval-windows', '4', '--tune-lr', '1e-3,1e-2', '--tune-steps', '2', '--out', out];
    const r = await runCli([...argv, ...tail]);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as ExperimentResults;
    assert.equal(res.source.config.vocabSize, 300);
    assert.equal(res.target.config.vocabSize, 300);
    const json = readFileSync(path.join(tok, 'tokenizer.json'), 'utf8');
    for (const dir of [res.source.dir, path.join(out, 'models', 'hypercloning'), ...res.runs.map((x) => path.join(x.run_dir, 'final'))])
      assert.equal(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), json, dir);
    // the validation slice is counted in BPE tokens: fewer than its bytes
    const bytes = Buffer.byteLength(readFileSync(corpus, 'utf8'));
    const valTokens = res.datasets[0]!.tokens;
    assert.ok(valTokens > 0 && valTokens < 0.02 * bytes, `${valTokens} tokens for the last 2% of ${bytes} bytes`);
    const hc = res.runs.find((x) => x.label === 'hypercloning')!;
    assert.ok(Math.abs(hc.initial_val_loss - res.source.val_loss) < 1e-4, 'HyperCloning starts at the trained source');
    assert.equal(res.tuning!.runs.length, 4, 'scratch and hypercloning at two rates each');
    // another tokenizer: the source is trained again, not reused
    const tok2 = path.join(tmp.dir, 'bpe2');
    await trainTokenizer({ data: [`${corpus}#0-0.97`], vocabSize: 310, out: tok2 });
    const again = await runCli([...argv.slice(0, -1), tok2, ...tail]);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /source: already trained/);
    const res2 = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as ExperimentResults;
    assert.equal(res2.target.config.vocabSize, 310);
  });
});
