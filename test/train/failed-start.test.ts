/**
 * Issue #10 item 6, through the real `scion train` in child processes: a run that fails
 * (bad model, missing --moments, a dataset shorter than one window, a divergence before the
 * first checkpoint) leaves the --out folder as it was, so the same command works once fixed.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureDir } from '../helpers/fixtures.ts';
import { runScion } from '../helpers/run-command.ts';
import { listFiles, tempDir } from '../helpers/tmp.ts';
import { makeText } from './tiny.ts';

const SRC = fixtureDir('gpt2-shakespeare-d64-l2');
const SMALL = ['--steps', '2', '--ctx', '16', '--batch', '2'];

describe('scion train: a failed start leaves --out as it was', () => {
  const tmp = tempDir('scion-failed-start-');
  let data: string;
  before(() => {
    data = makeText(tmp.dir, 4000);
  });
  after(() => tmp.cleanup());

  test('bad model, missing --moments, 1-token data: refused before anything is written; the rerun works', () => {
    const out = path.join(tmp.dir, 'run');
    const bad = path.join(tmp.dir, 'bad-model');
    cpSync(SRC, bad, { recursive: true });
    truncateSync(path.join(bad, 'model.safetensors'), 1000);
    const one = path.join(tmp.dir, 'one.txt');
    writeFileSync(one, 'a');
    const cases: [string[], RegExp][] = [
      [[bad, '--data', data], /bad-model\/model\.safetensors: .*truncated/],
      [[SRC, '--data', data, '--moments', path.join(tmp.dir, 'no-moments.safetensors')], /no-moments\.safetensors: file not found/],
      [[SRC, '--data', one], /one\.txt: 1 tokens, fewer than one training window of --ctx \+ 1 = 17/],
      [[SRC, '--data', data, '--val', one], /one\.txt: 1 tokens, fewer than one validation window of 17/],
    ];
    for (const [args, message] of cases) {
      const r = runScion(['train', ...args, ...SMALL, '--out', out]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(existsSync(out), false, `nothing written for ${args.join(' ')}`);
    }
    const ok = runScion(['train', SRC, '--data', data, ...SMALL, '--out', out]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('a run that diverges before its first checkpoint removes what it wrote; an existing empty folder stays empty', () => {
    const out = path.join(tmp.dir, 'empty');
    mkdirSync(out);
    const diverge = ['--steps', '20', '--ctx', '16', '--batch', '2', '--lr', '1e30', '--checkpoint-every', '20'];
    const r = runScion(['train', SRC, '--data', data, ...diverge, '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /training diverged/);
    assert.deepEqual(readdirSync(out), [], 'the folder is as it was: empty');
    const ok = runScion(['train', SRC, '--data', data, ...SMALL, '--out', out]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('--force over an existing run that then fails before its first checkpoint puts the old run back', () => {
    const out = path.join(tmp.dir, 'kept');
    assert.equal(runScion(['train', SRC, '--data', data, ...SMALL, '--out', out]).code, 0);
    const before = listFiles(out);
    const result = readFileSync(path.join(out, 'result.json'), 'utf8');
    const diverge = ['--steps', '20', '--ctx', '16', '--batch', '2', '--lr', '1e30', '--checkpoint-every', '20'];
    const r = runScion(['train', SRC, '--data', data, ...diverge, '--out', out, '--force']);
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(listFiles(out), before);
    assert.equal(readFileSync(path.join(out, 'result.json'), 'utf8'), result);
    assert.deepEqual(
      readdirSync(tmp.dir).filter((n) => n.includes('.tmp-')),
      [],
      'no temporary folders left',
    );
  });
});
