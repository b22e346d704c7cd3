/**
 * Resuming a run of a model WITH a tokenizer, as a user does it: the real CLI in child
 * processes, Ctrl-C, resume, kill -9 after the checkpoint it resumed from was pruned,
 * resume again. Every step's loss equals the uninterrupted run's, every checkpoint and
 * final/ carry the tokenizer, and evaluating final/ gives the same loss as the uninterrupted
 * final/. A model folder Scion wrote with a tokenizer that has lost it is refused, never read
 * as bytes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { exited, lastStep, type MetricLine as Line, metrics, SCION, waitFor } from '../helpers/train-cli.ts';

const SOURCE = path.join(ROOT, 'resources', 'models', 'gpt2-shakespeare-d64-l2');
const env = { ...process.env, SCION_BACKEND: 'wasm', SCION_THREADS: '2' }; // the user path: resumed twice on 2 CPU threads, whatever this machine has
const STEPS = 240;

function scion(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [SCION, ...args], { encoding: 'utf8', env });
}

function evalLoss(modelDir: string, data: string): number {
  const r = scion('eval', modelDir, '--data', data, '--ctx', '64', '--max-windows', '16', '--json');
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { loss: number }).loss;
}

describe('scion train --resume with a tokenizer: two resumes past pruning', () => {
  const tmp = tempDir();
  let model: string;
  let data: string;
  let val: string;
  let args: (out: string) => string[];
  let reference: Line[];

  before(() => {
    // a copy of the shipped model (tokenizer.json, generation_config.json), so the test can move it away
    model = path.join(tmp.dir, 'source');
    cpSync(SOURCE, model, { recursive: true });
    const text = readFileSync(path.join(ROOT, 'resources', 'data', 'tinyshakespeare.txt'), 'utf8');
    data = path.join(tmp.dir, 'train.txt');
    val = path.join(tmp.dir, 'val.txt');
    writeFileSync(data, text.slice(0, 150_000));
    writeFileSync(val, text.slice(-30_000));
    args = (out) => [
      'train',
      model,
      '--data',
      data,
      '--val',
      val,
      '--steps',
      String(STEPS),
      '--batch',
      '4',
      '--ctx',
      '64',
      '--lr',
      '2e-3',
      '--eval-every',
      '40',
      '--eval-windows',
      '8',
      '--checkpoint-every',
      '10',
      '--seed',
      '3',
      '--out',
      out,
      '--json',
    ];
    const r = scion(...args(path.join(tmp.dir, 'reference')));
    assert.equal(r.status, 0, r.stderr);
    reference = metrics(path.join(tmp.dir, 'reference'));
    assert.equal(reference.length, STEPS + 1);
  });
  after(() => tmp.cleanup());

  test('Ctrl-C, resume, kill -9, resume (source moved away): same losses, tokenizer everywhere', async () => {
    const out = path.join(tmp.dir, 'paused');
    // 1. Ctrl-C early
    const first = spawn(process.execPath, [SCION, ...args(out)], { env, stdio: 'ignore' });
    await waitFor(() => lastStep(out) >= 25, first, 'step 25');
    first.kill('SIGINT');
    assert.equal(await exited(first), 130);
    const pausedAt = lastStep(out);
    assert.ok(pausedAt < STEPS / 2, `paused at ${pausedAt}`);
    // 2. resume, killed with SIGKILL well after the checkpoint it resumed from was pruned (two are kept)
    const second = spawn(process.execPath, [SCION, 'train', '--resume', out, '--json'], { env, stdio: 'ignore' });
    await waitFor(() => lastStep(out) >= pausedAt + 60, second, `step ${pausedAt + 60}`);
    second.kill('SIGKILL');
    await exited(second);
    const killedAt = lastStep(out);
    assert.ok(killedAt < STEPS, `killed mid-run (at ${killedAt})`);
    const resumedFrom = Math.max(...readdirSync(path.join(out, 'checkpoints')).map((n) => Number(/^step-(\d+)$/.exec(n)?.[1] ?? -1)));
    assert.ok(resumedFrom >= pausedAt + 30, `the checkpoint of the first pause (${pausedAt}) is long pruned; newest ${resumedFrom}`);
    for (const c of readdirSync(path.join(out, 'checkpoints')).filter((n) => n.startsWith('step-')))
      assert.ok(existsSync(path.join(out, 'checkpoints', c, 'model', 'tokenizer.json')), `${c} carries tokenizer.json`);
    // 3. resume again with the source model gone: the run folder has what it needs
    const moved = `${model}-moved`;
    renameSync(model, moved);
    try {
      const r = scion('train', '--resume', out, '--json');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`from step ${resumedFrom}\\b`));
      assert.match(r.stderr, /training on 2 CPU threads/);
    } finally {
      renameSync(moved, model);
    }
    const got = metrics(out);
    assert.deepEqual(
      got.map((m) => m.step),
      reference.map((m) => m.step),
      'every step once',
    );
    for (let i = 0; i < got.length; i++) {
      assert.equal(got[i]!.train_loss, reference[i]!.train_loss, `train_loss at step ${i}`);
      assert.equal(got[i]!.val_loss, reference[i]!.val_loss, `val_loss at step ${i}`);
    }
    // final/ has the source's tokenizer files, byte for byte
    for (const f of ['tokenizer.json', 'generation_config.json'])
      assert.deepEqual(readFileSync(path.join(out, 'final', f)), readFileSync(path.join(SOURCE, f)), `final/${f}`);
    // and evaluates like the uninterrupted final/, at a loss only the tokenizer can give (bytes: > 10)
    const loss = evalLoss(path.join(out, 'final'), val);
    assert.equal(loss, evalLoss(path.join(tmp.dir, 'reference', 'final'), val));
    assert.ok(loss < 4, `final/ loss ${loss}`);
  });

  test('a model folder Scion wrote with a tokenizer, copied without it, is refused (not read as bytes)', () => {
    const bare = path.join(tmp.dir, 'bare');
    mkdirSync(bare);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(path.join(tmp.dir, 'reference', 'final', f), path.join(bare, f));
    const r = scion('eval', bare, '--data', val, '--json');
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /bare: this model was made with a tokenizer \(tokenizer\.json/);
    assert.match(r.stderr, /refusing to read the text as raw bytes/);
    const t = scion('train', bare, '--data', data, '--steps', '2', '--out', path.join(tmp.dir, 'bare-run'));
    assert.equal(t.status, 1);
    assert.match(t.stderr, /made with a tokenizer/);
  });
});
