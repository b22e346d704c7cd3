/**
 * One process at a time in a run folder, with real `scion train` child processes: two started
 * at once on one --out, a --force and a --resume while a run trains there: all but one are
 * refused, naming the folder and the pid that holds it, and the metrics keep one line per
 * step. A run killed with SIGKILL leaves a lock that the next --resume takes over; Ctrl-C
 * releases it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LOCK_FILE } from '../../electron/engine/io/folder-lock.ts';
import { tempDir } from '../helpers/tmp.ts';
import { exited, lastStep, metrics, SCION, waitFor } from '../helpers/train-cli.ts';
import { makeText, makeTinyModel } from './tiny.ts';

const env = { ...process.env, SCION_BACKEND: 'wasm' };

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [SCION, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return exited(child).then((code) => ({ code, stderr }));
}

describe('scion train: one process per run folder', () => {
  const tmp = tempDir();
  let model: string;
  let data: string;
  const args = (out: string, steps: number) => [
    'train',
    model,
    '--data',
    data,
    '--steps',
    String(steps),
    '--batch',
    '2',
    '--ctx',
    '16',
    '--checkpoint-every',
    '5',
    '--out',
    out,
  ];

  before(async () => {
    model = await makeTinyModel(tmp.dir);
    data = makeText(tmp.dir, 20000);
  });
  after(() => tmp.cleanup());

  test('two trainings started at once on one --out: one runs, the other is refused', async () => {
    const out = path.join(tmp.dir, 'twice');
    const [a, b] = await Promise.all([run(args(out, 40)), run(args(out, 40))]);
    const codes = [a.code, b.code].sort();
    assert.deepEqual(codes, [0, 1], `exit codes ${a.code}, ${b.code}\n${a.stderr}\n${b.stderr}`);
    const refused = a.code === 1 ? a : b;
    assert.match(
      refused.stderr,
      new RegExp(`${out}: (another Scion process \\(pid \\d+ on .+\\) is training in this run folder|a training run is already there)`),
    );
    assert.deepEqual(
      metrics(out).map((m) => m.step),
      Array.from({ length: 40 }, (_, i) => i + 1),
      'one line per step',
    );
    assert.equal(existsSync(path.join(out, LOCK_FILE)), false, 'the lock is released at the end');
  });

  test('--force and --resume while a run trains there are refused, naming the holder; kill -9 leaves a lock --resume takes over', async () => {
    const out = path.join(tmp.dir, 'busy');
    const holder = spawn(process.execPath, [SCION, ...args(out, 100000)], { env, stdio: 'ignore' });
    try {
      await waitFor(() => lastStep(out) >= 6, holder, 'step 6');
      const lock = JSON.parse(readFileSync(path.join(out, LOCK_FILE), 'utf8')) as { pid: number };
      assert.equal(lock.pid, holder.pid);
      const message = new RegExp(`${out}: another Scion process \\(pid ${holder.pid} on .+\\) is training in this run folder`);
      const forced = await run([...args(out, 50), '--force']);
      assert.equal(forced.code, 1, forced.stderr);
      assert.match(forced.stderr, message);
      const resumed = await run(['train', '--resume', out]);
      assert.equal(resumed.code, 1, resumed.stderr);
      assert.match(resumed.stderr, message);
      const steps = metrics(out).map((m) => m.step);
      assert.deepEqual(
        steps,
        Array.from({ length: steps.length }, (_, i) => i + 1),
        'the refused processes wrote nothing',
      );
    } finally {
      holder.kill('SIGKILL');
      await exited(holder);
    }
    assert.ok(existsSync(path.join(out, LOCK_FILE)), 'SIGKILL leaves the lock behind');
    // its process is gone: the lock is stale and the resume takes it over (and stops at Ctrl-C)
    const resume = spawn(process.execPath, [SCION, 'train', '--resume', out], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    resume.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => stderr.includes('resuming'), resume, 'the resume to start');
    const before = lastStep(out);
    await waitFor(() => lastStep(out) > before + 2, resume, 'the resume to train');
    assert.equal(JSON.parse(readFileSync(path.join(out, LOCK_FILE), 'utf8')).pid, resume.pid);
    resume.kill('SIGINT');
    assert.equal(await exited(resume), 130, stderr);
    assert.equal(existsSync(path.join(out, LOCK_FILE)), false, 'Ctrl-C releases the lock');
  });

  test('a refused start on a new folder leaves nothing behind', () => {
    const out = path.join(tmp.dir, 'never', 'made');
    const r = spawnSync(process.execPath, [SCION, 'train', model, '--data', path.join(tmp.dir, 'missing.txt'), '--steps', '2', '--out', out], {
      encoding: 'utf8',
      env,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /missing\.txt: dataset not found/);
    assert.equal(existsSync(path.join(tmp.dir, 'never')), false, 'no empty run folder, nor its parent');
  });
});
