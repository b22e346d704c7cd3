/**
 * The memory plan before any work starts, through the real CLI in child processes: what does
 * not fit the backend is refused at once, with the largest batch / ctx that fits and a backend
 * that would hold it, and nothing written; shapes that cannot exist (issue 10 item 9) are
 * refused before any plan or tensor is built. Config-only models: nothing big is allocated.
 * SCION_MACHINE_MEMORY pins "this machine" to 16 GB so the messages do not depend on the runner.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { growthCheckLength, planWork, requireGrowthCheckFits } from '../../electron/engine/memory/fit.ts';
import { activationBytes, threadedTrainEstimate, trainEstimate, shapeOf } from '../../electron/engine/memory/estimate.ts';
import { parseHFConfig } from '../../electron/engine/models/config.ts';
import { parameterCount } from '../../electron/engine/models/family.ts';

const tmp = tempDir();
after(tmp.cleanup);
const MACHINE = String(16e9);
process.env['SCION_MACHINE_MEMORY'] = MACHINE; // the in-process plans too
const TEXT = path.join(ROOT, 'resources', 'data', 'tinyshakespeare.txt');
const SMALL = path.join(ROOT, 'resources', 'models', 'gpt2-shakespeare-d64-l2');

function gpt2(d: number, layers: number, vocab = 50257): Record<string, unknown> {
  return { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_embd: d, n_head: d / 64, n_layer: layers, n_positions: 1024, vocab_size: vocab };
}

function configOnly(name: string, raw: Record<string, unknown>): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(raw));
  return dir;
}

function scion(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'scion.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, SCION_BACKEND: 'wasm', SCION_MACHINE_MEMORY: MACHINE },
    timeout: 120_000,
  });
  return { code: r.status, stderr: r.stderr };
}

test('the estimate counts the parameters exactly for GPT-2 and is near 16 bytes a parameter plus activations', () => {
  for (const raw of [gpt2(768, 12), gpt2(1024, 24)]) {
    const cfg = parseHFConfig(raw);
    const e = trainEstimate(cfg.family, shapeOf(cfg), 1, 128);
    assert.equal(e.parameters, parameterCount(cfg));
    assert.equal(e.total - e.activations, 16 * e.parameters);
  }
});

test('GPT-2 medium (355M) training is refused on wasm at once, naming what fits and where; nothing is written', () => {
  const model = configOnly('gpt2-medium', gpt2(1024, 24));
  const out = path.join(tmp.dir, 'medium-run');
  const r = scion(['train', model, '--init', 'scratch', '--data', TEXT, '--steps', '3', '--batch', '4', '--ctx', '256', '--out', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /training this 35\dM-parameter GPT-2 at batch 4, ctx 256 needs about [\d.]+ GB \(weights 1\.4 GB, gradients 1\.4 GB, AdamW moments 2\.8 GB, activations and backward pass/,
  );
  assert.match(r.stderr, /the wasm backend's 4 GB heap holds about 3\.4 GB/);
  assert.match(r.stderr, /no batch or ctx fits \(the model alone needs 5\.7 GB\)/);
  assert.match(r.stderr, /with --backend tensorflow .*, this machine's 16\.0 GB of memory holds --(batch|ctx) \d+/);
  assert.doesNotMatch(r.stderr, /Aborted|emscripten|memory access out of bounds/);
  assert.equal(existsSync(out), false, 'nothing written');
});

test('a plan that fits at a smaller batch names the largest batch and ctx that fit', () => {
  const cfg = parseHFConfig(gpt2(768, 12)); // GPT-2 small, 124M
  const r = planWork('train', cfg, 4, 256, 'wasm');
  assert.equal(r.ok, false);
  assert.match(r.message!, /on wasm the largest that fits is .*--batch 1 --ctx (\d+)/);
  const ctx = Number(/--batch 1 --ctx (\d+)/.exec(r.message!)![1]);
  assert.equal(planWork('train', cfg, 1, ctx, 'wasm').ok, true, 'the named ctx fits');
  assert.equal(planWork('train', cfg, 1, ctx + 1, 'wasm').ok, false, 'and is the largest');
  assert.match(r.message!, /it fits this machine's 16\.0 GB of memory: use --backend tensorflow/);
  assert.equal(planWork('train', cfg, 2, 256, 'cpu').ok, true);
  const big = planWork('train', cfg, 16, 1024, 'wasm');
  assert.match(big.message!, /with --backend tensorflow .* this machine's 16\.0 GB of memory holds --batch \d+ at --ctx 1024/);
  const half = planWork('train', cfg, 8, 64, 'wasm');
  assert.match(half.message!, /--batch \d at --ctx 64 .*\(with --grad-accum \d+ to keep 8 windows a step\)/);
});

test('shapes that cannot exist are refused at once, before any plan or tensor (issue 10 item 9)', () => {
  const huge = configOnly('huge-source', { ...gpt2(64, 2, 512), n_embd: 1e9, n_head: 1 });
  const cases: [string, string[], RegExp][] = [
    [
      'grow --hidden 1e9',
      ['grow', SMALL, '--out', path.join(tmp.dir, 'g1'), '--method', 'zero-pad', '--hidden', '1000000000'],
      /the grown model would have about [\d.]+T parameters/,
    ],
    [
      'grow --layers 100000',
      ['grow', SMALL, '--out', path.join(tmp.dir, 'g2'), '--method', 'stack', '--layers', '100000'],
      /the grown model would have about [\d.]+B parameters .* more than this machine's 16\.0 GB/,
    ],
    [
      'grow of an n_embd 1e9 config',
      ['grow', huge, '--out', path.join(tmp.dir, 'g3'), '--method', 'hypercloning', '--width-mult', '2'],
      /the source model would have about/,
    ],
    [
      'experiment --target hidden=1e9',
      [
        'experiment',
        '--source',
        SMALL,
        '--data',
        TEXT,
        '--val',
        TEXT,
        '--target',
        'hidden=1000000000',
        '--methods',
        'zero-pad,scratch',
        '--steps',
        '2',
        '--out',
        path.join(tmp.dir, 'e1'),
      ],
      /the grown model would have about/,
    ],
  ];
  for (const [what, args, want] of cases) {
    const r = scion(args);
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, want, what);
  }
  for (const d of ['g1', 'g2', 'g3', 'e1']) assert.equal(existsSync(path.join(tmp.dir, d)), false, `${d}: nothing written`);
});

test('the growth check shortens its windows to what the backend holds, or refuses before growing', () => {
  const llama = (d: number, f: number, heads: number) =>
    parseHFConfig({
      architectures: ['LlamaForCausalLM'],
      hidden_size: d,
      intermediate_size: f,
      num_hidden_layers: 30,
      num_attention_heads: heads,
      num_key_value_heads: heads / 3,
      head_dim: 64,
      vocab_size: 49152,
      max_position_embeddings: 2048,
      tie_word_embeddings: true,
    });
  const smol = llama(576, 1536, 9); // SmolLM2-135M's shape
  const x2 = llama(1152, 3072, 18); // hypercloned x2, ffn x2: 454M
  const n = growthCheckLength(smol, x2, 256, 'wasm');
  assert.ok(n >= 32 && n < 256, `135M -> 454M on wasm: windows of ${n} tokens`);
  assert.doesNotThrow(() => requireGrowthCheckFits(smol, x2, n, 'wasm'));
  assert.throws(() => requireGrowthCheckFits(smol, x2, 256, 'wasm'), /holds about 3\.4 GB: nothing was grown/);
  const g124 = parseHFConfig(gpt2(768, 12));
  const m = growthCheckLength(g124, parseHFConfig(gpt2(1024, 24)), 256, 'wasm');
  assert.ok(m >= 32 && m < 256, `124M -> 355M on wasm: windows of ${m} tokens`);
  const g774 = parseHFConfig({ ...gpt2(1280, 36), n_head: 20 });
  assert.equal(growthCheckLength(g124, g774, 256, 'wasm'), 0);
  assert.throws(
    () => requireGrowthCheckFits(g124, g774, 256, 'wasm'),
    /grown model \(774M, 3\.1 GB\) at once.*nothing was grown; run the grow with --backend tensorflow/,
  );
});

test('GPT-2 small at ctx 256 on wasm: refused without --recompute, naming it; accepted with it at batch 1 to 4 (CLI for the refusal)', () => {
  const cfg = parseHFConfig(gpt2(768, 12));
  for (const batch of [1, 2, 3, 4]) {
    const plain = planWork('train', cfg, batch, 256, 'wasm');
    assert.equal(plain.ok, false, `batch ${batch} without --recompute`);
    assert.match(
      plain.message!,
      /with --recompute \(each block's activations recomputed in the backward pass, about a third more compute\) it needs about [\d.]+ GB and fits/,
    );
    const r = planWork('train', cfg, batch, 256, 'wasm', { recompute: true });
    assert.equal(r.ok, true, `batch ${batch} with --recompute: ${r.message}`);
    const s = shapeOf(cfg);
    assert.ok(activationBytes(s, batch, 256, true, true) < activationBytes(s, batch, 256, true) / 4, 'recomputation keeps far fewer activations');
  }
  const medium = planWork('train', parseHFConfig(gpt2(1024, 24)), 1, 256, 'wasm', { recompute: true });
  assert.equal(medium.ok, false, '355M does not fit the wasm heap even with --recompute');
  assert.doesNotMatch(medium.message!, /with --recompute \(each block/);
  const model = configOnly('gpt2-small', gpt2(768, 12));
  const out = path.join(tmp.dir, 'small-run');
  const cli = scion(['train', model, '--init', 'scratch', '--data', TEXT, '--steps', '3', '--batch', '4', '--ctx', '256', '--out', out]);
  assert.equal(cli.code, 1, cli.stderr);
  assert.match(cli.stderr, /training this 124M-parameter GPT-2 at batch 4, ctx 256 needs about .* with --recompute .* fits/);
  assert.equal(existsSync(out), false, 'nothing written');
});

test('the chunked head bounds the head by the chunk, not by batch x ctx x vocab', () => {
  const big = shapeOf(parseHFConfig(gpt2(768, 12)));
  const small = { ...big, vocab: 512 };
  const head = (b: number) => activationBytes(big, b, 256, true) - activationBytes(small, b, 256, true); // what 50257 entries cost over 512
  assert.ok(head(4) < 1.1 * head(1), `${head(4)} bytes at 1024 tokens, ${head(1)} at 256: about the same`);
  assert.ok(head(1) < 0.15e9, `${head(1)} bytes`);
});

test('threads: each compute thread holds a replica, so the plan keeps only the threads that fit (wasm heaps and the machine)', () => {
  const small = parseHFConfig(gpt2(256, 4, 8192)); // 5.5M: replicas fit anywhere
  const two = planWork('train', small, 4, 128, 'wasm', { threads: 2 });
  assert.equal(two.threads, 2);
  assert.equal(two.note, undefined);
  const s = shapeOf(small);
  const t = threadedTrainEstimate('gpt2', s, 2, 128, 2, 1);
  const one = trainEstimate('gpt2', s, 2, 128);
  assert.equal(t.rank0.total, one.total, 'rank 0: what one thread holds (the all-reduce and the update run in shared memory)');
  assert.equal(t.replica, 8 * one.parameters + one.activations, 'a compute thread: weights, gradient, activations');
  assert.equal(t.total, t.rank0.total + t.replica + 20 * one.parameters, '+ the shared parameters, both moments and one gradient per rank');
  const pieces = threadedTrainEstimate('gpt2', s, 2, 128, 2, 3);
  assert.equal(pieces.replica, t.replica + 4 * one.parameters, 'several pieces: + their running sum');
  assert.equal(planWork('train', small, 1, 128, 'wasm', { threads: 2 }).threads, 1, 'one row: one thread');
  assert.equal(planWork('train', small, 4, 128, 'webgpu', { threads: 2 }).threads, 1, 'WebGPU does not use threads');
  // GPT-2 small on wasm: rank 0's heap holds what one thread's does (the reduction is in shared memory), a replica less: 2 threads
  const g124 = planWork('train', parseHFConfig(gpt2(768, 12)), 4, 256, 'wasm', { threads: 2, recompute: true });
  assert.equal(g124.ok, true);
  assert.equal(g124.threads, 2);
  assert.equal(g124.note, undefined);
  // on cpu the machine's memory holds all threads: 8 threads of 124M at 16 GB do not fit, fewer do
  const cpu = planWork('train', parseHFConfig(gpt2(768, 12)), 8, 128, 'cpu', { threads: 8 });
  assert.ok(cpu.threads > 1 && cpu.threads < 8, `cpu: ${cpu.threads} threads`);
  assert.match(cpu.note!, new RegExp(`^${cpu.threads} threads, not 8`));
});
