/**
 * The verdict has a scale: 'exact' within float tolerance, 'approximate' while the mean loss
 * moves by at most 0.05 nats, 'changes the function' beyond. Real grows of the fixtures,
 * checked on Shakespeare text, through the CLI: output, --json, growth.json and --project.
 * Checks recorded before the scale existed are graded on it when a project is opened.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { main } from '../../electron/cli/main.ts';
import { APPROX_LOSS_BOUND } from '../../electron/engine/growth/index.ts';
import { entryFile } from '../../electron/store/layout.ts';
import { Project } from '../../electron/store/project.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeText } from '../service/util.ts';
import { fixture, useWasm } from './helpers.ts';

before(useWasm);

interface GrowJson {
  verdict: string;
  loss_change: number;
  loss_bound: number;
  max_abs_logit_diff: number;
  verdict_scale: string;
}

async function grow(dir: string, name: string, model: string, args: string[], json = true): Promise<{ stdout: string; out: string }> {
  const data = writeText(dir, 'check.txt', 'tinyshakespeare.txt', 20_000);
  const out = path.join(dir, name);
  const argv = ['grow', fixture(model), '--out', out, ...args, '--check-data', data, '--project', path.join(dir, 'proj'), ...(json ? ['--json'] : [])];
  const r = await runCommand(main, argv);
  assert.equal(r.code, 0, r.stderr);
  return { stdout: r.stdout, out };
}

function growthJsonCheck(out: string): Record<string, unknown> {
  return (JSON.parse(readFileSync(path.join(out, 'growth.json'), 'utf8')) as { check: Record<string, unknown> }).check;
}

test('three real grows, three places on the scale, the same verdict everywhere it is shown', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  assert.equal(APPROX_LOSS_BOUND, 0.05);
  const cases: Array<[string, string, string[], string]> = [
    ['hc', 'gpt2-shakespeare-d64-l2', ['--method', 'hypercloning', '--width-mult', '2'], 'exact'],
    ['n2n', 'llama-shakespeare-h64-l2', ['--method', 'net2net', '--hidden', '128'], 'approximate'],
    ['zp', 'gpt2-shakespeare-d64-l2', ['--method', 'zero-pad', '--hidden', '128'], 'changes the function'],
  ];
  for (const [name, model, args, expected] of cases) {
    const { stdout, out } = await grow(dir, name, model, args);
    const j = JSON.parse(stdout) as GrowJson;
    console.log(`# ${model} ${args.join(' ')}: ${j.verdict}, loss change ${j.loss_change.toFixed(4)}, max |dlogit| ${j.max_abs_logit_diff.toFixed(3)}`);
    assert.equal(j.verdict, expected, `${name}: loss change ${j.loss_change}`);
    assert.equal(j.loss_bound, 0.05);
    assert.match(j.verdict_scale, /approximate: \|loss change\| <= 0\.05 nats/);
    const dloss = Math.abs(j.loss_change);
    if (expected === 'exact') assert.ok(dloss <= 1e-5);
    if (expected === 'approximate') assert.ok(dloss > 1e-5 && dloss <= 0.05, `approximate with |dloss| ${dloss}`);
    if (expected === 'changes the function') assert.ok(dloss > 0.05 && j.max_abs_logit_diff > 1, `|dloss| ${dloss}`);
    const g = growthJsonCheck(out);
    assert.deepEqual([g['verdict'], g['loss_change'], g['approximate_loss_bound']], [expected, j.loss_change, 0.05]);
  }
  const p = await Project.open(path.join(dir, 'proj'));
  const verdicts = new Map([...p.models.values()].filter((m) => m.lineage).map((m) => [path.basename(m.path), m.lineage!.growth]));
  assert.deepEqual(
    [...verdicts.entries()].map(([n, g]) => [n, g?.verdict, g?.lossBound]),
    [
      ['hc', 'exact', 0.05],
      ['n2n', 'approximate', 0.05],
      ['zp', 'changes the function', 0.05],
    ],
  );
});

test('the CLI output states the loss change against the bound', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const { stdout } = await grow(dir, 'zp', 'gpt2-shakespeare-d64-l2', ['--method', 'zero-pad', '--hidden', '128'], false);
  assert.match(stdout, /\nloss +source [\d.]+, grown [\d.]+ \(change \+[\d.e+-]+ nats\)\n/);
  assert.match(stdout, /\nverdict +changes the function \(\|loss change\| [\d.]+ > 0\.05 nats\)\n/);
  assert.match(stdout, /\nscale +exact: .*approximate: \|loss change\| <= 0\.05 nats; changes the function: beyond that\n/);
});

test('checks recorded before the scale (no lossBound) are graded on it when the project opens', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const { out } = await grow(dir, 'hc', 'gpt2-shakespeare-d64-l2', ['--method', 'hypercloning', '--width-mult', '2']);
  const proj = path.join(dir, 'proj');
  const grown = [...(await Project.open(proj)).models.values()].find((m) => m.path === out)!;
  const file = entryFile(proj, 'models', grown.id);
  const legacy = (verdict: string, lossGrown: number): void => {
    const e = JSON.parse(readFileSync(file, 'utf8')) as { lineage: { growth: Record<string, unknown> } };
    e.lineage.growth = { verdict, maxAbsLogitDiff: 13.8, lossSource: 2, lossGrown };
    writeFileSync(file, JSON.stringify(e));
  };
  const graded = async (): Promise<string | undefined> => (await Project.open(proj)).models.get(grown.id)?.lineage?.growth?.verdict;
  legacy('approximate', 2.76); // the issue's +0.76 nats, shown as 'approximate' before
  assert.equal(await graded(), 'changes the function');
  legacy('approximate', 2.01);
  assert.equal(await graded(), 'approximate');
  legacy('not preserving', 2.0001);
  assert.equal(await graded(), 'changes the function');
  legacy('exact', 2);
  assert.equal(await graded(), 'exact');
});
