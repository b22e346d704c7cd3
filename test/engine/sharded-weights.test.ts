/**
 * Sharded weights, as transformers' save_pretrained writes them (model-0000i-of-0000N.safetensors
 * + model.safetensors.index.json): written by export, grow and checkpoints through one writer
 * with a size limit, read back bit for bit by every reader (the model computes transformers'
 * reference logits), and a missing or truncated shard refused naming the file.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { INDEX_FILE, parseShardSize, planShards, shardName } from '../../electron/engine/io/model-weights.ts';
import { openWeightFiles } from '../../electron/engine/io/weight-files.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { saveCheckpoint, verifyCheckpoint } from '../../electron/engine/train/checkpoint.ts';
import { DATA, expectedTensors, fixtureDir } from '../helpers/fixtures.ts';
import { runScion } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';

const SOURCE = fixtureDir('gpt2-shakespeare-d64-l2');
const SHARDS = /^model-(\d{5})-of-(\d{5})\.safetensors$/;

interface Index {
  metadata: { total_size: number };
  weight_map: Record<string, string>;
}
const readIndex = (dir: string): Index => JSON.parse(readFileSync(path.join(dir, INDEX_FILE), 'utf8')) as Index;
const shardFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => SHARDS.test(f))
    .sort();

/** Every tensor of `a` equals the same tensor of `b`, bit for bit (and both have the same names). */
async function assertSameTensors(a: string, b: string): Promise<number> {
  const x = await openWeightFiles(a);
  const y = await openWeightFiles(b);
  try {
    assert.deepEqual(x.names().sort(), y.names().sort());
    for (const n of x.names()) {
      const u = await x.readFloat32(n);
      const v = await y.readFloat32(n);
      assert.deepEqual(new Uint32Array(u.buffer, u.byteOffset, u.length), new Uint32Array(v.buffer, v.byteOffset, v.length), n);
    }
    return x.names().length;
  } finally {
    await x.close();
    await y.close();
  }
}

test('shard sizes are read as transformers reads them; a bad one is refused', () => {
  assert.equal(parseShardSize('5GB'), 5e9);
  assert.equal(parseShardSize('500MB'), 5e8);
  assert.equal(parseShardSize('2GiB'), 2 * 2 ** 30);
  assert.equal(parseShardSize('1.5 kb'), 1500);
  assert.equal(parseShardSize('4096'), 4096);
  assert.throws(() => parseShardSize('5 parsecs'), /--max-shard-size: expected a size like 5GB, 500MB, 2GiB or a number of bytes, got '5 parsecs'/);
  assert.throws(() => parseShardSize('0'), /got '0'/);
});

test('shards are cut in tensor order at the limit; a tensor above the limit gets its own', () => {
  const e = (name: string, n: number) => ({ name, shape: [n] }); // n float32 values = 4n bytes
  const names = (s: { name: string }[][]) => s.map((x) => x.map((y) => y.name).join(''));
  assert.deepEqual(names(planShards([e('a', 10), e('b', 10), e('c', 10)], 80)), ['ab', 'c']);
  assert.deepEqual(names(planShards([e('a', 10), e('b', 50), e('c', 5)], 80)), ['a', 'b', 'c']);
  assert.deepEqual(names(planShards([e('a', 10), e('b', 10)], 1e9)), ['ab']);
  assert.equal(shardName(0, 1), 'model.safetensors');
  assert.equal(shardName(1, 12), 'model-00002-of-00012.safetensors');
});

describe('sharded model folders through the real CLI', () => {
  const tmp = tempDir('scion-shards-');
  const exported = path.join(tmp.dir, 'exported');
  before(async () => {
    await initBackend('wasm');
  });
  after(() => tmp.cleanup());

  test('export --max-shard-size writes shards + index; read back bit for bit; the model computes the reference logits', async () => {
    const r = runScion(['export', SOURCE, '--out', exported, '--max-shard-size', '40KB']);
    assert.equal(r.code, 0, r.stderr);
    const shards = shardFiles(exported);
    assert.ok(shards.length >= 3, `expected several shards, got ${shards.join(', ')}`);
    assert.ok(!existsSync(path.join(exported, 'model.safetensors')), 'a sharded folder has no model.safetensors');
    const index = readIndex(exported);
    // every shard named in the index, each shard's number and count right, total_size = the tensors' bytes
    assert.deepEqual([...new Set(Object.values(index.weight_map))].sort(), shards);
    shards.forEach((f, i) => assert.deepEqual(SHARDS.exec(f)!.slice(1), [String(i + 1).padStart(5, '0'), String(shards.length).padStart(5, '0')]));
    const w = await openWeightFiles(exported);
    let total = 0;
    for (const n of w.names()) total += w.info(n).end - w.info(n).begin;
    await w.close();
    assert.equal(index.metadata.total_size, total);
    // a shard holds several tensors only while it stays under the limit
    for (const f of shards) {
      const names = Object.entries(index.weight_map).filter(([, s]) => s === f);
      if (names.length > 1) assert.ok(statSync(path.join(exported, f)).size < 40_000 + 4096, `${f} is over the limit`);
    }
    assert.ok((await assertSameTensors(SOURCE, exported)) > 10);

    const model = await loadModel(exported);
    const exp = await expectedTensors('gpt2-shakespeare-d64-l2');
    const ids = tf.tensor2d(exp.probeIds, exp.probeShape, 'int32');
    const { logits } = forward(model.config, model.params, ids);
    const got = await logits.data();
    tf.dispose([logits, ids]);
    disposeParams(model.params);
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - exp.probeLogits[i]!));
    assert.ok(maxDiff <= 1e-4, `max |logit diff| vs transformers = ${maxDiff}`);
  });

  test('eval reads the shards: the same loss as the single file', () => {
    const args = ['--data', path.join(DATA, 'tinyshakespeare.txt'), '--max-windows', '2', '--ctx', '32', '--json'];
    const a = runScion(['eval', SOURCE, ...args]);
    const b = runScion(['eval', exported, ...args]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const loss = (s: string) => (JSON.parse(s) as { loss: number }).loss;
    assert.equal(loss(b.stdout), loss(a.stdout));
  });

  test('grow reads a sharded source and writes shards; --force replaces them with one file, no shard left behind', async () => {
    const grown = path.join(tmp.dir, 'grown');
    const g = runScion(['grow', exported, '--out', grown, '--method', 'hypercloning', '--width-mult', '2', '--max-shard-size', '100KB', '--json']);
    assert.equal(g.code, 0, g.stderr);
    assert.equal((JSON.parse(g.stdout) as { verdict: string }).verdict, 'exact');
    assert.ok(shardFiles(grown).length >= 3);
    assert.deepEqual([...new Set(Object.values(readIndex(grown).weight_map))].sort(), shardFiles(grown));
    const again = runScion(['grow', SOURCE, '--out', grown, '--method', 'hypercloning', '--width-mult', '2', '--force', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(shardFiles(grown), []);
    assert.ok(!existsSync(path.join(grown, INDEX_FILE)), 'the old index was left behind');
    assert.ok(existsSync(path.join(grown, 'model.safetensors')));
  });

  test('a missing shard and a truncated shard are refused, naming the file', () => {
    const broken = path.join(tmp.dir, 'broken');
    assert.equal(runScion(['export', SOURCE, '--out', broken, '--max-shard-size', '40KB']).code, 0);
    const shards = shardFiles(broken);
    const args = ['--data', path.join(DATA, 'tinyshakespeare.txt'), '--max-windows', '1', '--ctx', '16'];
    const last = path.join(broken, shards[shards.length - 1]!);
    truncateSync(last, statSync(last).size - 100);
    const t = runScion(['eval', broken, ...args]);
    assert.notEqual(t.code, 0);
    assert.match(t.stderr, new RegExp(`${shards[shards.length - 1]!.replace(/\./g, '\\.')}.*truncated`));
    rmSync(path.join(broken, shards[1]!));
    const m = runScion(['eval', broken, ...args]);
    assert.notEqual(m.code, 0);
    assert.match(m.stderr, new RegExp(`${shards[1]!.replace(/\./g, '\\.')}: missing: .*model\\.safetensors\\.index\\.json says it holds`));
  });

  test('a checkpoint of a large model is sharded, verifies, loads; a removed shard fails verification', async () => {
    const run = path.join(tmp.dir, 'run');
    const model = await loadModel(SOURCE);
    try {
      const dir = await saveCheckpoint(run, {
        config: model.config,
        rawConfig: model.rawConfig,
        params: model.params,
        m: {},
        v: {},
        state: { step: 3 } as never,
        maxShardBytes: 50_000,
      });
      assert.ok(shardFiles(path.join(dir, 'model')).length >= 3);
      assert.equal(await verifyCheckpoint(dir), undefined);
      assert.ok((await assertSameTensors(SOURCE, path.join(dir, 'model'))) > 10);
      rmSync(path.join(dir, 'model', shardFiles(path.join(dir, 'model'))[0]!));
      assert.match((await verifyCheckpoint(dir)) ?? '', /model\/model-00001-of-\d{5}\.safetensors is missing/);
    } finally {
      disposeParams(model.params);
    }
  });
});
