/**
 * The output-folder policy through the real `scion` in child processes (issue #10 items 1, 2
 * and the --force policy): --out may not be, contain or lie inside an input; --force replaces
 * only a folder Scion wrote (its marker, or only files Scion writes there) and names any other
 * file it finds instead of deleting it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureDir } from '../helpers/fixtures.ts';
import { runScion } from '../helpers/run-command.ts';
import { listFiles, tempDir } from '../helpers/tmp.ts';
import { makeText } from '../train/tiny.ts';

/** Every file under `dir` with its SHA-256: equal before and after means nothing was touched. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of listFiles(dir))
    out[f] = createHash('sha256')
      .update(readFileSync(path.join(dir, f)))
      .digest('hex');
  return out;
}

const MODEL_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json'];

function copyModel(to: string): string {
  mkdirSync(to, { recursive: true });
  for (const f of MODEL_FILES) cpSync(path.join(fixtureDir('gpt2-shakespeare-d64-l2'), f), path.join(to, f));
  return to;
}

describe('output folders (real CLI)', () => {
  const tmp = tempDir('scion-out-');
  let data: string;
  before(() => {
    data = makeText(tmp.dir, 4000);
  });
  after(() => tmp.cleanup());

  test('item 1: export --out <parent of the model> --force refuses and deletes nothing', () => {
    const x = path.join(tmp.dir, 'x');
    copyModel(path.join(x, 'm'));
    mkdirSync(path.join(x, 'docs'));
    writeFileSync(path.join(x, 'docs', 'n.txt'), 'keep');
    const before = snapshot(x);
    const r = runScion(['export', path.join(x, 'm'), '--out', x, '--force']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /the output folder contains the model .*\bm; choose another --out/);
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    assert.deepEqual(snapshot(x), before, 'the model and its neighbours are untouched');
    const inside = runScion(['export', path.join(x, 'm'), '--out', path.join(x, 'm', 'sub'), '--force']);
    assert.equal(inside.code, 2);
    assert.match(inside.stderr, /the output folder is inside the model/);
    assert.deepEqual(snapshot(x), before);
  });

  test('--force never replaces a folder holding files Scion did not write, and names them', () => {
    const src = copyModel(path.join(tmp.dir, 'src'));
    const thesis = path.join(tmp.dir, 'thesis');
    mkdirSync(thesis);
    writeFileSync(path.join(thesis, 'thesis.tex'), '\\documentclass{book}');
    for (const cmd of [
      ['export', src, '--out', thesis, '--force'],
      ['grow', src, '--out', thesis, '--method', 'mlp-zero', '--ffn', '512', '--check-windows', '1', '--force'],
      ['train', src, '--data', data, '--steps', '1', '--ctx', '16', '--batch', '2', '--out', thesis, '--force'],
    ]) {
      const r = runScion(cmd);
      assert.equal(r.code, 1, `${cmd[0]}: ${r.stderr}`);
      assert.match(r.stderr, /thesis: .*it holds thesis\.tex, which Scion did not write/, cmd[0]);
      assert.equal(readFileSync(path.join(thesis, 'thesis.tex'), 'utf8'), '\\documentclass{book}');
    }
  });

  test("--force replaces Scion's own output: with its marker, or (older versions) with only Scion's files", () => {
    const src = copyModel(path.join(tmp.dir, 'src2'));
    const out = path.join(tmp.dir, 'exported');
    const first = runScion(['export', src, '--out', out, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const marker = JSON.parse(readFileSync(path.join(out, '.scion-output.json'), 'utf8')) as { kind: string; command: string };
    assert.deepEqual([marker.kind, marker.command], ['model', 'export']);
    assert.equal(runScion(['export', src, '--out', out]).code, 1, 'exists: refused without --force');
    assert.equal(runScion(['export', src, '--out', out, '--force']).code, 0);
    // a file the user added is never deleted
    writeFileSync(path.join(out, 'notes.txt'), 'mine');
    const r = runScion(['export', src, '--out', out, '--force']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /it holds notes\.txt, which Scion did not write/);
    assert.equal(readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'mine');
    rmSync(path.join(out, 'notes.txt'));
    // a folder from before the marker existed: only files Scion writes, so it is Scion's
    rmSync(path.join(out, '.scion-output.json'));
    const legacy = runScion(['export', src, '--out', out, '--force']);
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.ok(existsSync(path.join(out, '.scion-output.json')));
    // a Scion training run is not replaced by a model
    const run = path.join(tmp.dir, 'a-run');
    assert.equal(runScion(['train', src, '--data', data, '--steps', '1', '--ctx', '16', '--batch', '2', '--out', run]).code, 0);
    const cross = runScion(['export', src, '--out', run, '--force']);
    assert.equal(cross.code, 1);
    assert.match(cross.stderr, /holds a training run written by Scion, not a model folder/);
    assert.ok(existsSync(path.join(run, 'run.json')));
  });

  test('item 2: train RUN/final --out RUN --force refuses and keeps the run', () => {
    const src = copyModel(path.join(tmp.dir, 'src3'));
    const run = path.join(tmp.dir, 'RUN');
    const first = runScion(['train', src, '--data', data, '--steps', '2', '--ctx', '16', '--batch', '2', '--out', run]);
    assert.equal(first.code, 0, first.stderr);
    const before = snapshot(run);
    const r = runScion(['train', path.join(run, 'final'), '--data', data, '--steps', '2', '--ctx', '16', '--batch', '2', '--out', run, '--force']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /RUN: the output folder contains the model .*RUN\/final; choose another --out/);
    assert.deepEqual(snapshot(run), before, 'the run and its final model are untouched');
    // the data file is an input too
    const dataDir = path.join(tmp.dir, 'data-dir');
    mkdirSync(dataDir);
    cpSync(data, path.join(dataDir, 'd.txt'));
    const overData = runScion(['train', src, '--data', path.join(dataDir, 'd.txt'), '--steps', '1', '--ctx', '16', '--out', dataDir, '--force']);
    assert.equal(overData.code, 2);
    assert.match(overData.stderr, /the output folder contains --data/);
    assert.ok(existsSync(path.join(dataDir, 'd.txt')));
  });

  test('experiment: --out may not hold its data, and a folder with foreign files is never written into', () => {
    const src = copyModel(path.join(tmp.dir, 'src4'));
    const exp = path.join(tmp.dir, 'exp');
    mkdirSync(exp);
    cpSync(data, path.join(exp, 'train.txt'));
    const args = ['experiment', '--source', src, '--target', 'hidden=128', '--methods', 'zero-pad,scratch', '--steps', '1', '--out', exp];
    const inside = runScion([...args, '--data', path.join(exp, 'train.txt'), '--val', data]);
    assert.equal(inside.code, 2, inside.stderr);
    assert.match(inside.stderr, /exp: the output folder contains the dataset .*train\.txt/);
    const foreign = runScion([...args, '--data', data, '--val', data]);
    assert.equal(foreign.code, 1, foreign.stderr);
    assert.match(foreign.stderr, /exp: the folder is not an experiment Scion wrote: it holds train\.txt/);
    assert.deepEqual(listFiles(exp), ['train.txt'], 'nothing written');
  });
});
