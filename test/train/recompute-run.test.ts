/**
 * `scion train --recompute` as a user runs it (child processes): the losses at every step equal
 * those of the same run without it, bit for bit (one head chunk at this vocabulary: the same
 * operations in the same order), on one thread and on two; run.json records the option and a
 * run stopped with Ctrl-C resumes with it, still equal to the plain run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/tmp.ts';
import { exited, lastStep, metrics, SCION, waitFor } from '../helpers/train-cli.ts';
import { CLI_RUN, makeText, makeTinyModel } from './tiny.ts';

const env = { ...process.env, SCION_BACKEND: 'wasm' };
const CFG = CLI_RUN;
const STEPS = 24;

describe('scion train --recompute', () => {
  const tmp = tempDir();
  let model: string;
  let data: string;
  const args = (out: string, ...extra: string[]) => [
    'train',
    model,
    '--data',
    data,
    '--steps',
    String(STEPS),
    '--batch',
    '4',
    '--ctx',
    '32',
    '--lr',
    '3e-3',
    '--checkpoint-every',
    '5',
    '--seed',
    '3',
    '--out',
    out,
    '--json',
    ...extra,
  ];
  const run = (out: string, ...extra: string[]) => {
    const r = spawnSync(process.execPath, [SCION, ...args(out, ...extra)], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    return metrics(out).map((m) => m.train_loss);
  };
  before(async () => {
    model = await makeTinyModel(tmp.dir, CFG);
    data = makeText(tmp.dir, 20000);
  });
  after(() => tmp.cleanup());

  test('equal losses with and without it, on one thread and two; run.json records it', () => {
    const plain = run(path.join(tmp.dir, 'plain'), '--threads', '1');
    assert.equal(plain.length, STEPS);
    const recompute = run(path.join(tmp.dir, 'recompute'), '--threads', '1', '--recompute');
    assert.deepEqual(recompute, plain);
    const runJson = (d: string) => JSON.parse(readFileSync(path.join(tmp.dir, d, 'run.json'), 'utf8')) as { options: { recompute?: boolean } };
    assert.equal(runJson('recompute').options.recompute, true);
    assert.equal(runJson('plain').options.recompute, undefined, 'runs without it keep the settings of earlier versions');
    assert.deepEqual(run(path.join(tmp.dir, 'threads-recompute'), '--threads', '2', '--recompute'), run(path.join(tmp.dir, 'threads'), '--threads', '2'));
  });

  test('Ctrl-C, then --resume: the option comes from run.json and every loss equals the plain run', async () => {
    const plain = metrics(path.join(tmp.dir, 'plain')).map((m) => m.train_loss);
    const out = path.join(tmp.dir, 'stopped');
    const child = spawn(process.execPath, [SCION, ...args(out, '--threads', '1', '--recompute')], { env, stdio: 'ignore' });
    await waitFor(() => lastStep(out) >= 7, child, 'step 7');
    child.kill('SIGINT');
    assert.equal(await exited(child), 130);
    const stoppedAt = lastStep(out);
    assert.ok(stoppedAt < STEPS, `stopped mid-run (step ${stoppedAt})`);
    const r = spawnSync(process.execPath, [SCION, 'train', '--resume', out, '--threads', '1', '--json'], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      metrics(out).map((m) => m.train_loss),
      plain,
    );
  });
});
