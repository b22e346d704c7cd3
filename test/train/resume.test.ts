/**
 * Resumable training as a user meets it: `scion train` in a child process killed with
 * SIGKILL mid-run, then `--resume`d, gives the same train_loss at every later step as a run
 * that was never killed; Ctrl-C (SIGINT) writes a checkpoint and exits 130; a corrupt
 * newest checkpoint is detected and the one before it is used.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/tmp.ts';
import { exited, lastStep, type MetricLine as Line, metrics, SCION, waitFor } from '../helpers/train-cli.ts';
import { CLI_RUN, makeText, makeTinyModel } from './tiny.ts';

const env = { ...process.env, SCION_BACKEND: 'wasm' };
// big enough that 120 steps take several seconds, so the child is caught mid-run
const CFG = CLI_RUN;

describe('scion train: resume, interrupt, corrupt checkpoints', () => {
  const tmp = tempDir();
  let model: string;
  let data: string;
  let args: (out: string) => string[];
  let reference: Line[];

  before(async () => {
    model = await makeTinyModel(tmp.dir, CFG);
    data = makeText(tmp.dir, 30000);
    args = (out) => [
      'train',
      model,
      '--data',
      `${data}#0-0.9`,
      '--val',
      `${data}#0.9-1`,
      '--steps',
      '120',
      '--batch',
      '4',
      '--ctx',
      '32',
      '--lr',
      '3e-3',
      '--warmup',
      '10',
      '--eval-every',
      '10',
      '--eval-windows',
      '4',
      '--checkpoint-every',
      '10',
      '--seed',
      '5',
      '--out',
      out,
      '--json',
    ];
    const r = spawnSync(process.execPath, [SCION, ...args(path.join(tmp.dir, 'reference'))], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    reference = metrics(path.join(tmp.dir, 'reference'));
  });
  after(() => tmp.cleanup());

  test('the metrics file has one well-formed line per step', () => {
    assert.deepEqual(
      reference.map((m) => m.step),
      Array.from({ length: 121 }, (_, i) => i),
    );
    assert.equal(reference[0]!.train_loss, undefined);
    assert.equal(typeof reference[0]!.val_loss, 'number');
    for (const m of reference.slice(1)) {
      for (const k of ['train_loss', 'lr', 'tokens', 'time'] as const) assert.equal(typeof m[k], 'number', `step ${m.step} ${k}`);
      assert.equal(m.tokens, m.step * 4 * 32);
      assert.equal(m.val_loss !== undefined, m.step % 10 === 0, `val_loss at step ${m.step}`);
    }
    assert.ok(reference[120]!.train_loss! < reference[1]!.train_loss!, 'the loss falls');
    assert.ok(existsSync(path.join(tmp.dir, 'reference', 'final', 'model.safetensors')));
    assert.ok(existsSync(path.join(tmp.dir, 'reference', 'run.json')));
  });

  test('kill -9 mid-run, then --resume: every later train_loss equals the unkilled run', async () => {
    const out = path.join(tmp.dir, 'killed');
    const child = spawn(process.execPath, [SCION, ...args(out)], { env, stdio: 'ignore' });
    await waitFor(() => lastStep(out) >= 27, child, 'step 27');
    child.kill('SIGKILL');
    await exited(child);
    const killedAt = lastStep(out);
    assert.ok(killedAt < 120, `killed mid-run (at step ${killedAt})`);
    const r = spawnSync(process.execPath, [SCION, 'train', '--resume', out, '--json'], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /resuming .* from step (10|20|30)\b/);
    const got = metrics(out);
    assert.deepEqual(
      got.map((m) => m.step),
      reference.map((m) => m.step),
      'no gaps or duplicates',
    );
    for (let i = 0; i < got.length; i++) {
      assert.equal(got[i]!.train_loss, reference[i]!.train_loss, `train_loss at step ${i}`);
      assert.equal(got[i]!.val_loss, reference[i]!.val_loss, `val_loss at step ${i}`);
      assert.equal(got[i]!.lr, reference[i]!.lr);
    }
    assert.equal(JSON.parse(r.stdout).status, 'completed');
  });

  test('Ctrl-C writes a checkpoint at the current step and exits 130; resume completes identically', async () => {
    const out = path.join(tmp.dir, 'interrupted');
    const child = spawn(process.execPath, [SCION, ...args(out)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitFor(() => lastStep(out) >= 15, child, 'step 15');
    child.kill('SIGINT');
    const code = await exited(child);
    assert.equal(code, 130);
    const summary = JSON.parse(stdout) as { status: string; step: number; checkpoint: string };
    assert.equal(summary.status, 'interrupted');
    assert.equal(summary.step, lastStep(out));
    assert.ok(summary.checkpoint.endsWith(`step-${String(summary.step).padStart(8, '0')}`), summary.checkpoint);
    const r = spawnSync(process.execPath, [SCION, 'train', '--resume', out, '--json'], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`from step ${summary.step}\\b`));
    assert.deepEqual(
      metrics(out).map((m) => m.train_loss),
      reference.map((m) => m.train_loss),
    );
  });

  test('a corrupt newest checkpoint is detected and the previous one is used', () => {
    const out = path.join(tmp.dir, 'reference');
    const newest = path.join(out, 'checkpoints', 'step-00000120', 'optimizer.safetensors');
    const bytes = readFileSync(newest);
    bytes[bytes.length - 3] ^= 0xff; // same size, different content: only the checksum can tell
    writeFileSync(newest, bytes);
    const r = spawnSync(process.execPath, [SCION, 'train', '--resume', out, '--json'], { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /step-00000120 is corrupt \(optimizer\.safetensors does not match its SHA-256/);
    assert.match(r.stderr, /from step 110\b/);
    const got = metrics(out);
    assert.deepEqual(
      got.map((m) => m.train_loss),
      reference.map((m) => m.train_loss),
      'steps 111-120 trained again, identically',
    );
  });
});
