/** Model folders: export round trip, and clear errors for configs and checkpoints we cannot use. */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { writeSafetensors } from '../../electron/engine/io/safetensors.ts';
import { parseHFConfig } from '../../electron/engine/models/config.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel, saveModel } from '../../electron/engine/models/model.ts';
import { type FixtureName, expectedTensors, fixtureDir } from '../helpers/fixtures.ts';
import { listFiles, tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
before(async () => {
  await initBackend();
});
after(tmp.cleanup);

async function logitsOf(dir: string, name: FixtureName): Promise<Float32Array> {
  const model = await loadModel(dir);
  const exp = await expectedTensors(name);
  const ids = tf.tensor2d(exp.probeIds, exp.probeShape, 'int32');
  const { logits } = forward(model.config, model.params, ids);
  const out = (await logits.data()) as Float32Array;
  tf.dispose([ids, logits]);
  disposeParams(model.params);
  return out;
}

describe('export', () => {
  for (const name of ['gpt2-shakespeare-d64-l2', 'llama-shakespeare-h64-l2'] as const) {
    test(`${name}: an exported folder loads back with identical logits and HF names`, async () => {
      const model = await loadModel(fixtureDir(name));
      const out = path.join(tmp.dir, `export-${name}`);
      await saveModel(out, model.config, model.params, model.rawConfig, { copyFrom: fixtureDir(name) });
      disposeParams(model.params);
      const files = listFiles(out);
      for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(files.includes(f), `${f} written`);
      assert.ok(!files.some((f) => f.includes('.tmp-')), 'no temporary files left');
      const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      const orig = JSON.parse(readFileSync(path.join(fixtureDir(name), 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(cfg['architectures'], orig['architectures']);
      assert.deepEqual(parseHFConfig(cfg), parseHFConfig(orig));
      assert.deepEqual(await logitsOf(out, name), await logitsOf(fixtureDir(name), name));
    });
  }
});

describe('checkpoints as other tools write them', () => {
  test('GPT-2 without the transformer. prefix, with attn.bias buffers and a stored lm_head, in two shards', async () => {
    const src = fixtureDir('gpt2-shakespeare-d64-l2');
    const dir = path.join(tmp.dir, 'old-style-gpt2');
    mkdirSync(dir);
    cpSync(path.join(src, 'config.json'), path.join(dir, 'config.json'));
    cpSync(path.join(src, 'tokenizer.json'), path.join(dir, 'tokenizer.json'));
    const { SafetensorsFile } = await import('../../electron/engine/io/safetensors.ts');
    const f = await SafetensorsFile.open(path.join(src, 'model.safetensors'));
    const names = f.names();
    const renamed = names.map((n) => ({ from: n, to: n.replace(/^transformer\./, '') }));
    const half = Math.floor(renamed.length / 2);
    const shards: Array<Array<{ from: string; to: string }>> = [renamed.slice(0, half), renamed.slice(half)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const extra =
        i === 0
          ? [
              { name: 'h.0.attn.bias', shape: [1, 1, 128, 128] },
              { name: 'lm_head.weight', shape: [512, 64] },
            ]
          : [];
      const entries = [...shard.map((r) => ({ name: r.to, shape: f.info(r.from).shape })), ...extra];
      await writeSafetensors(path.join(dir, file), entries, async (n) => {
        if (n === 'h.0.attn.bias') return new Float32Array(128 * 128).fill(1);
        if (n === 'lm_head.weight') return f.readFloat32('transformer.wte.weight');
        return f.readFloat32(shard.find((r) => r.to === n)!.from);
      });
      for (const e of entries) weightMap[e.name] = file;
    }
    await f.close();
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    assert.deepEqual(await logitsOf(dir, 'gpt2-shakespeare-d64-l2'), await logitsOf(src, 'gpt2-shakespeare-d64-l2'));
  });
});

describe('bad model folders', () => {
  function variant(name: string, edit: (dir: string) => void): string {
    const dir = path.join(tmp.dir, name);
    cpSync(fixtureDir('llama-shakespeare-h64-l2'), dir, { recursive: true });
    edit(dir);
    return dir;
  }
  function editConfig(dir: string, change: Record<string, unknown>): void {
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...change }));
  }

  test('a folder that is not a model', async () => {
    const dir = path.join(tmp.dir, 'empty');
    mkdirSync(dir);
    await assert.rejects(loadModel(dir), new RegExp(`${dir}: not a model folder: config.json is missing`));
    await assert.rejects(loadModel(path.join(tmp.dir, 'missing')), /folder not found/);
  });

  test('an unsupported architecture names the field and value', async () => {
    const dir = variant('bert', (d) => editConfig(d, { architectures: ['BertForMaskedLM'] }));
    await assert.rejects(loadModel(dir), /config.json: architectures = \["BertForMaskedLM"\] is not supported/);
  });

  test('an unsupported setting names the field and value', async () => {
    const dir = variant('rope', (d) => editConfig(d, { rope_scaling: { type: 'linear', factor: 2 } }));
    await assert.rejects(loadModel(dir), /rope_scaling\.rope_type = "linear" is not supported: implemented: default, llama3/);
    const dir2 = variant('act', (d) => editConfig(d, { hidden_act: 'gelu' }));
    await assert.rejects(loadModel(dir2), /hidden_act = "gelu" is not supported/);
  });

  test('a checkpoint whose shapes disagree with config.json', async () => {
    const dir = variant('shape', (d) => editConfig(d, { intermediate_size: 96 }));
    await assert.rejects(loadModel(dir), /mlp\.gate_proj\.weight' has shape \[128, 64\], but config.json implies \[96, 64\]/);
  });

  test('a checkpoint with a missing or an unknown tensor', async () => {
    const missing = variant('missing-tensor', (d) => editConfig(d, { num_hidden_layers: 3 }));
    await assert.rejects(loadModel(missing), /has no tensor 'model\.layers\.2\.input_layernorm\.weight'/);
    const extra = variant('extra-tensor', () => undefined);
    await writeSafetensors(path.join(extra, 'model.safetensors'), [{ name: 'model.mystery.weight', shape: [1] }], () => new Float32Array(1));
    await assert.rejects(loadModel(extra), /'model\.mystery\.weight' is not part of a llama model/);
  });

  test('only pytorch_model.bin', async () => {
    const dir = variant('bin-only', (d) => {
      writeFileSync(path.join(d, 'pytorch_model.bin'), 'x');
    });
    const { rmSync } = await import('node:fs');
    rmSync(path.join(dir, 'model.safetensors'));
    await assert.rejects(loadModel(dir), /only safetensors checkpoints are supported/);
    assert.ok(existsSync(path.join(dir, 'pytorch_model.bin')));
  });
});
