/**
 * `scion grow` end to end: --json output and growth.json, depth-only growth, and bad input:
 * not a model, unknown method, impossible shape, existing output (refused unless --force,
 * then replaced atomically; a failed grow leaves the old folder untouched).
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { main } from '../../electron/cli/main.ts';
import { growthMethods, planGrowth } from '../../electron/engine/growth/index.ts';
import { readModelConfig } from '../../electron/engine/models/model.ts';
import { runCommand } from '../helpers/run-command.ts';
import { fixture, useWasm } from './helpers.ts';

let tmp: string;
before(async () => {
  await useWasm();
  tmp = await mkdtemp(path.join(tmpdir(), 'scion-grow-cli-'));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function scion(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCommand(main, argv);
}

const LLAMA = fixture('llama-shakespeare-h64-l2');
const GPT2 = fixture('gpt2-shakespeare-d64-l2');

test('--json prints one object with the check, and growth.json records the growth', async () => {
  const out = path.join(tmp, 'hc');
  const before = tf.memory().numTensors;
  const r = await scion('grow', LLAMA, '--out', out, '--method', 'hypercloning', '--width-mult', '2', '--seed', '7', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const j = JSON.parse(lines[0]!) as Record<string, unknown>;
  for (const k of ['method', 'params_source', 'params_target', 'verdict', 'max_abs_logit_diff', 'loss_source', 'loss_grown']) assert.ok(k in j, `missing ${k}`);
  assert.equal(j['method'], 'hypercloning');
  assert.equal(j['verdict'], 'exact');
  assert.equal(j['params_source'], 139584);
  assert.equal(j['params_target'], 426624);
  assert.ok((j['max_abs_logit_diff'] as number) <= 1e-3);
  const g = JSON.parse(await readFile(path.join(out, 'growth.json'), 'utf8')) as {
    source: { sha256: string; path: string };
    method: string;
    seed: number;
    options: Record<string, number>;
    target_config: Record<string, number>;
    params_target: number;
    check: { verdict: string };
  };
  const sha = createHash('sha256')
    .update(await readFile(path.join(LLAMA, 'model.safetensors')))
    .digest('hex');
  assert.equal(g['source'].sha256, sha);
  assert.equal(g['source'].path, LLAMA);
  assert.equal(g['method'], 'hypercloning');
  assert.equal(g['seed'], 7);
  assert.deepEqual(
    { hidden: g['options'].hidden, ffn: g['options'].ffn, heads: g['options'].heads, kvHeads: g['options'].kvHeads, layers: g['options'].layers },
    { hidden: 128, ffn: 256, heads: 8, kvHeads: 4, layers: 2 },
  );
  assert.equal(g['target_config'].hidden_size, 128);
  assert.equal(g['params_target'], 426624);
  assert.equal(g['check'].verdict, 'exact');
  assert.ok(existsSync(path.join(out, 'tokenizer.json')), 'tokenizer copied');
  const { config } = await readModelConfig(out);
  assert.equal(config.family === 'llama' && config.numKeyValueHeads, 4);
});

test('depth-only growth: --method stack --layers 4, with --check-data', async () => {
  const data = path.join(tmp, 'text.txt');
  await writeFile(data, 'ROMEO:\nBut soft, what light through yonder window breaks?\n'.repeat(60));
  const out = path.join(tmp, 'stack');
  const r = await scion(
    'grow',
    GPT2,
    '--out',
    out,
    '--method',
    'stack',
    '--layers',
    '4',
    '--check-data',
    data,
    '--check-windows',
    '2',
    '--check-ctx',
    '64',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(j['verdict'], 'changes the function');
  assert.equal(j['check_data'], data);
  assert.equal(j['check_windows'], 2);
  assert.ok(Number.isFinite(j['loss_grown']));
  assert.equal((await readModelConfig(out)).config.family === 'gpt2' && ((await readModelConfig(out)).config as { nLayer: number }).nLayer, 4);
});

test('a folder that is not a model is refused, naming it', async () => {
  const notModel = path.join(tmp, 'empty');
  await mkdir(notModel);
  const r = await scion('grow', notModel, '--out', path.join(tmp, 'x'), '--method', 'hypercloning', '--width-mult', '2');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /empty: not a model folder: config\.json is missing/);
  assert.ok(!existsSync(path.join(tmp, 'x')));
});

test('an unknown method is a usage error listing the methods', async () => {
  const r = await scion('grow', LLAMA, '--out', path.join(tmp, 'x'), '--method', 'magic');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown growth method 'magic' \(known: hypercloning, zero-pad/);
});

test('impossible shapes say why and what would work', () => {
  const gpt2 = {
    family: 'gpt2',
    vocabSize: 512,
    nPositions: 128,
    nEmbd: 64,
    nLayer: 2,
    nHead: 4,
    nInner: 256,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
  } as const;
  const llama = {
    family: 'llama',
    vocabSize: 512,
    hiddenSize: 64,
    intermediateSize: 128,
    numHiddenLayers: 2,
    numAttentionHeads: 4,
    numKeyValueHeads: 2,
    headDim: 16,
    maxPositionEmbeddings: 128,
    rmsNormEps: 1e-5,
    ropeTheta: 10000,
    tieWordEmbeddings: false,
  } as const;
  assert.throws(() => planGrowth(gpt2, { method: 'hypercloning', hidden: 100 }), /hidden 100 is not a multiple of 64: .*use zero-pad or a multiple/);
  assert.throws(() => planGrowth(gpt2, { method: 'zero-pad', hidden: 100 }), /not a multiple of head_dim 16/);
  assert.throws(() => planGrowth(llama, { method: 'hypercloning', widthMult: 2, kvHeads: 2 }), /KV heads must grow with the query heads .* use --kv-heads 4/);
  assert.throws(() => planGrowth(gpt2, { method: 'add-heads', heads: 8 }), /add-heads cannot grow GPT-2/);
  assert.throws(() => planGrowth(llama, { method: 'zero-pad', hidden: 32 }), /smaller than the source's 64/);
  assert.throws(() => planGrowth(llama, { method: 'hypercloning', widthMult: 2, layers: 4 }), /needs --depth identity\|stack\|interpolate/);
  assert.throws(() => planGrowth(llama, { method: 'stack' }), /needs --layers/);
  assert.throws(() => planGrowth(llama, { method: 'identity', layers: 3, insertAt: [5] }), /not a block boundary: use 0\.\.2/);
  assert.throws(() => planGrowth(llama, { method: 'zero-pad', hidden: 64 }), /nothing to grow/);
  assert.throws(() => planGrowth(llama, { method: 'zero-pad', hidden: 96, noiseDb: 10 }), /--noise-db .* hypercloning/);
  assert.equal(growthMethods().length, 11);
});

test('the CLI reports an impossible shape and writes nothing', async () => {
  const r = await scion('grow', GPT2, '--out', path.join(tmp, 'bad'), '--method', 'hypercloning', '--hidden', '100');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /hidden 100 is not a multiple of 64/);
  assert.ok(!existsSync(path.join(tmp, 'bad')));
});

test('an existing output folder is refused unless --force, then replaced atomically; a folder with foreign files never', async () => {
  const out = path.join(tmp, 'exists');
  const first = await scion('grow', LLAMA, '--out', out, '--method', 'mlp-zero', '--ffn', '160', '--json');
  assert.equal(first.code, 0, first.stderr);
  const grown = await readFile(path.join(out, 'growth.json'), 'utf8');
  const refused = await scion('grow', LLAMA, '--out', out, '--method', 'mlp-zero', '--ffn', '192');
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /exists: already exists; pass --force to replace it/);
  assert.equal(await readFile(path.join(out, 'growth.json'), 'utf8'), grown);

  // A grow that fails half-way (missing check data) leaves the old folder as it was.
  const failed = await scion('grow', LLAMA, '--out', out, '--method', 'mlp-zero', '--ffn', '192', '--force', '--check-data', path.join(tmp, 'missing.txt'));
  assert.equal(failed.code, 1);
  assert.equal(await readFile(path.join(out, 'growth.json'), 'utf8'), grown);

  const forced = await scion('grow', LLAMA, '--out', out, '--method', 'mlp-zero', '--ffn', '192', '--force', '--json');
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(JSON.parse(forced.stdout).verdict, 'exact');
  assert.notEqual(await readFile(path.join(out, 'growth.json'), 'utf8'), grown, 'old contents replaced');
  const leftovers = (await readdir(tmp)).filter((n) => n.includes('.tmp-'));
  assert.deepEqual(leftovers, [], 'no temporary folders left behind');

  // A file Scion did not write is named, and --force does not delete it.
  await writeFile(path.join(out, 'keep.txt'), 'old');
  const foreign = await scion('grow', LLAMA, '--out', out, '--method', 'mlp-zero', '--ffn', '192', '--force');
  assert.equal(foreign.code, 1);
  assert.match(foreign.stderr, /exists: .*it holds keep\.txt, which Scion did not write/);
  assert.equal(await readFile(path.join(out, 'keep.txt'), 'utf8'), 'old');
});

test('the output may not be the source folder', async () => {
  const r = await scion('grow', LLAMA, '--out', LLAMA, '--method', 'mlp-zero', '--ffn', '192', '--force');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /the output folder is the source model/);
});
