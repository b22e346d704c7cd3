/**
 * Issue #10 item 7: an atomic folder replace killed between its two renames, or during its
 * build, is repaired by the next command (real processes killed with SIGKILL, then the real
 * `scion` in a child process); only Scion's temporary names of dead processes are touched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { recoverInterrupted } from '../../electron/engine/io/atomic.ts';
import { fixtureDir, ROOT } from '../helpers/fixtures.ts';
import { runScion } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';

const GPT2 = fixtureDir('gpt2-shakespeare-d64-l2');
const LLAMA = fixtureDir('llama-shakespeare-h64-l2');
const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json'];

function modelCopy(from: string, to: string): string {
  mkdirSync(to, { recursive: true });
  for (const f of MODEL_FILES) cpSync(path.join(from, f), path.join(to, f));
  return to;
}

function killMidReplace(target: string, from: string, when: 'build' | 'renames'): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test', 'helpers', 'kill-mid-replace.ts'), target, from, when], {
    encoding: 'utf8',
  });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
}

const family = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { model_type: string }).model_type;
const temps = (dir: string) => readdirSync(dir).filter((n) => n.includes('.tmp-'));

/** A PID no process has (a child that has exited). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('interrupted folder replaces', () => {
  const tmp = tempDir('scion-replace-');
  after(() => tmp.cleanup());

  test('killed between the two renames: there is no folder; the next command finishes the replace', () => {
    const dir = path.join(tmp.dir, 'a');
    const out = modelCopy(GPT2, path.join(dir, 'out'));
    killMidReplace(out, LLAMA, 'renames');
    assert.equal(existsSync(out), false, 'the state the kill leaves: no out');
    assert.equal(temps(dir).length, 2, 'the old copy and the finished new one');
    const r = runScion(['export', out, '--out', path.join(dir, 'copy'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(family(out), 'llama', 'the new folder, which was complete, is in place');
    assert.equal(family(path.join(dir, 'copy')), 'llama');
    assert.deepEqual(temps(dir), [], 'the old copy removed');
  });

  test('killed while building: the old folder is intact and the leftover is removed by the next write beside it', () => {
    const dir = path.join(tmp.dir, 'b');
    const out = modelCopy(GPT2, path.join(dir, 'out'));
    killMidReplace(out, LLAMA, 'build');
    assert.equal(family(out), 'gpt2');
    assert.equal(temps(dir).length, 1, 'a half-built folder is left');
    const r = runScion(['export', out, '--out', path.join(dir, 'other')]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(temps(dir), []);
    assert.equal(family(out), 'gpt2');
  });

  test('an old copy without its new folder (an older version killed) is restored; live processes and other names are left alone', async () => {
    const dir = path.join(tmp.dir, 'c');
    const dead = deadPid();
    modelCopy(GPT2, path.join(dir, `.m.tmp-${dead}-0123abcd-old`));
    mkdirSync(path.join(dir, `.live.tmp-${process.pid}-0123abcd`));
    writeFileSync(path.join(dir, `.f.tmp-${dead}-0badf00d`), 'half a file');
    writeFileSync(path.join(dir, '.notes.tmp-old'), 'not ours');
    const r = await recoverInterrupted(dir);
    assert.deepEqual(r.restored, [path.join(dir, 'm')]);
    assert.equal(family(path.join(dir, 'm')), 'gpt2');
    assert.deepEqual(readdirSync(dir).sort(), ['.live.tmp-' + process.pid + '-0123abcd', '.notes.tmp-old', 'm'].sort());
  });
});
