/**
 * Issue #10 item 13: system errors become one line naming the file or flag and the problem
 * (exit 1; usage errors exit 2; no stack trace), and negative numbers work as `--x -1`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseCommandArgs } from '../../electron/cli/command.ts';
import { main } from '../../electron/cli/main.ts';
import { ScionError, userMessage } from '../../electron/engine/errors.ts';
import { atomicWriteDir, atomicWriteFile } from '../../electron/engine/io/atomic.ts';
import { writeSafetensors } from '../../electron/engine/io/safetensors.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { runCommand, runScion } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText } from '../train/tiny.ts';

const SRC = fixtureDir('gpt2-shakespeare-d64-l2');
const scion = (...argv: string[]) => runCommand(main, argv);

function oneLine(stderr: string, command: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith(`scion ${command}: error: `));
  assert.equal(lines.length, 1, stderr);
  assert.ok(!stderr.includes('    at '), 'no stack trace');
  return lines[0]!;
}

describe('system errors as one clear line', () => {
  const tmp = tempDir('scion-messages-');
  let data: string;
  let file: string;
  before(() => {
    data = makeText(tmp.dir, 4000);
    file = path.join(tmp.dir, 'f.txt');
    writeFileSync(file, 'a file');
  });
  after(() => tmp.cleanup());

  test('ENOTDIR: a path through a file; an --out that is a file', async () => {
    const r = await scion('train', path.join(file, 'model'), '--data', data, '--steps', '1', '--out', path.join(tmp.dir, 'r1'));
    assert.equal(r.code, 1);
    assert.match(oneLine(r.stderr, 'train'), /f\.txt\/model: a part of the path is a file, not a folder$/);
    const o = await scion('train', SRC, '--data', data, '--steps', '1', '--out', file);
    assert.equal(o.code, 1);
    assert.match(oneLine(o.stderr, 'train'), /f\.txt: exists and is not a folder; refusing to replace it$/);
  });

  test('EISDIR: a folder given for --moments', async () => {
    const dir = path.join(tmp.dir, 'moments-dir');
    mkdirSync(dir);
    const r = await scion('train', SRC, '--data', data, '--steps', '1', '--ctx', '16', '--moments', dir, '--out', path.join(tmp.dir, 'r2'));
    assert.equal(r.code, 1);
    assert.match(oneLine(r.stderr, 'train'), /moments-dir: is a folder, not a safetensors file$/);
  });

  test('--port out of range is a usage error naming the flag', async () => {
    const r = await scion('serve', '--port', '99999');
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr, 'serve'), /--port must be an integer from 0 to 65535, got '99999'$/);
  });

  test('datasets: too few tokens names the file; a reversed fraction says so (not "not found")', async () => {
    const short = await scion('eval', SRC, '--data', `${data}#0-0.01`);
    assert.equal(short.code, 1);
    assert.match(oneLine(short.stderr, 'eval'), /text\.txt#0-0\.01: \d+ tokens, fewer than one window of 128 \(a shorter --ctx/);
    const reversed = await scion('eval', SRC, '--data', `${data}#0.5-0.2`);
    assert.equal(reversed.code, 2);
    assert.match(oneLine(reversed.stderr, 'eval'), /after '#' give a fraction range FROM-TO with 0 <= FROM < TO <= 1/);
    const empty = await scion('eval', SRC, '--data', `${data}#0.5-0.50001`);
    assert.match(oneLine(empty.stderr, 'eval'), /#0\.5-0\.50001: the fraction 0\.5-0\.50001 of its \d+ tokens holds no token/);
  });

  test('negative numbers work as --x -1 (and reach the option checks)', async () => {
    const options = { lr: { type: 'string' }, 'noise-db': { type: 'string' }, json: { type: 'boolean' } } as const;
    const { values } = parseCommandArgs('t', ['--lr', '-1e-3', '--noise-db', '-10', '--json'], options);
    assert.deepEqual([values.lr, values['noise-db'], values.json], ['-1e-3', '-10', true]);
    // a forgotten value before another option is still caught
    assert.throws(() => parseCommandArgs('t', ['--lr', '--json'], options), /argument is ambiguous/);
    const r = await scion('train', SRC, '--data', data, '--steps', '1', '--lr', '-1', '--out', path.join(tmp.dir, 'r3'));
    assert.equal(r.code, 2);
    assert.match(oneLine(r.stderr, 'train'), /--lr must be a positive number, got -1$/);
  });

  test('a failed allocation is a memory problem, not "cannot write"', async () => {
    const target = path.join(tmp.dir, 'huge.safetensors');
    const err = await writeSafetensors(target, [{ name: 'w', shape: [120000, 1000000] }], () => new Float32Array(120000000000)).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof RangeError, String(err));
    assert.match(userMessage(err), /^out of memory: an array of 120,000,000,000 values is more than this process can allocate/);
    assert.deepEqual(
      readdirSync(tmp.dir).filter((n) => n.includes('.tmp-')),
      [],
    );
  });

  test('a failed write inside a folder being built names --out, never the temporary folder', async () => {
    const target = path.join(tmp.dir, 'built');
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    await assert.rejects(
      atomicWriteDir(target, () => Promise.reject(enospc)),
      (e: unknown) => e instanceof ScionError && e.message === `cannot write ${target}: the disk is full`,
    );
    await assert.rejects(
      atomicWriteDir(target, (tmpDir) => atomicWriteFile(path.join(tmpDir, 'sub', 'x.json'), '{}')),
      (e: unknown) => e instanceof ScionError && e.message === `cannot write ${path.join(target, 'sub', 'x.json')}: its folder does not exist`,
    );
    assert.equal(userMessage(enospc), 'the disk is full (during write)');
  });

  test('a full disk (a 256 KiB tmpfs; needs root to mount): export names --out and leaves nothing', (t) => {
    const mnt = path.join(tmp.dir, 'small-disk');
    mkdirSync(mnt);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt], { encoding: 'utf8' });
    if (mount.status !== 0) {
      t.skip(`cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || '').trim()}); the simulated ENOSPC test above covers the message`);
      return;
    }
    try {
      const out = path.join(mnt, 'exported');
      const r = runScion(['export', SRC, '--out', out]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(oneLine(r.stderr, 'export'), new RegExp(`cannot write ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/[a-z.]+)?: the disk is full$`));
      assert.ok(!r.stderr.includes('.tmp-'), 'the temporary folder is not named');
      assert.deepEqual(readdirSync(mnt), [], 'nothing left on the full disk');
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});
