/** The `scion` command as a user runs it: a child process, stdout/stderr and exit codes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DATA, ROOT, expectedJson, fixtureDir } from '../helpers/fixtures.ts';

function scion(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'scion.js'), ...args], { encoding: 'utf8', env: { ...process.env, SCION_BACKEND: 'wasm' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('scion CLI', () => {
  test('info reports the backend and why the native ones are missing', () => {
    const r = scion('info', '--backend', 'auto', '--json');
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout) as { backend: string; attempts: Array<{ name: string; ok: boolean; reason?: string }> };
    assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(info.backend));
    const failed = info.attempts.filter((a) => !a.ok);
    for (const a of failed) assert.ok(a.reason && a.reason.length > 10, `a reason for ${a.name}`);
  });

  test('eval --json prints exactly one JSON object, logs go to stderr', () => {
    const r = scion(
      'eval',
      fixtureDir('llama-shakespeare-h64-l2'),
      '--data',
      path.join(DATA, 'tinyshakespeare.txt'),
      '--ctx',
      '64',
      '--max-windows',
      '8',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const out = JSON.parse(lines[0]!) as Record<string, number | string>;
    for (const k of ['loss', 'perplexity', 'accuracy', 'tokens', 'windows', 'backend']) assert.ok(k in out, `has ${k}`);
    assert.equal(out['windows'], 8);
    assert.equal(out['tokens'], 8 * 63);
    assert.equal(out['backend'], 'wasm');
    // A trained model on its own corpus: far below a uniform guess (ln 512 = 6.24) and near its eval loss.
    assert.ok((out['loss'] as number) < expectedJson('llama-shakespeare-h64-l2').eval_loss + 0.5);
    assert.ok(r.stderr.includes('backend: wasm'));
  });

  test('errors are one readable line and a non-zero exit code', () => {
    const r = scion('eval', path.join(ROOT, 'resources'), '--data', 'x.txt');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /scion eval: error: .*resources: not a model folder: config.json is missing/);
    assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    const u = scion('eval', fixtureDir('gpt2-random-d64-l2'));
    assert.equal(u.code, 2);
    assert.match(u.stderr, /--data is required/);
    const b = scion('info', '--backend', 'quantum');
    assert.match(b.stderr, /unknown backend 'quantum'/);
    assert.equal(scion('frobnicate').code, 2);
  });
});
