/**
 * GPT-NeoX (Pythia) on the engine, with models made by Scion (no transformers reference here:
 * scripts/device/prepare-family-check.ts writes the folders transformers checks): config.json
 * parsing and refusals naming the field, properties of the parallel residual and the partial
 * rotary, an export round trip, `scion info`, and gradients on wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../electron/cli/main.ts';
import { initBackend } from '../../electron/engine/backend.ts';
import { type ModelConfig, parseHFConfig } from '../../electron/engine/models/config.ts';
import { forward, parameterCount, tensorSpecs } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel, saveModel } from '../../electron/engine/models/model.ts';
import type { Params } from '../../electron/engine/models/params.ts';
import { AdamW } from '../../electron/engine/train/adamw.ts';
import { batchFromStarts, disposeBatch } from '../../electron/engine/train/batches.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { accumulatedGradients, toVariables, trainStep } from '../../electron/engine/train/step.ts';
import { type Json, writeModelDir } from '../helpers/family-models.ts';
import { neoxArrays, neoxConfigJson } from '../helpers/neox-model.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { readArrays } from '../growth/helpers.ts';

before(async () => {
  await initBackend(process.env['SCION_BACKEND'] ?? 'wasm');
  await ensureGradients();
});

async function logitsOf(config: ModelConfig, arrays: Map<string, Float32Array>, ids: number[]): Promise<Float32Array> {
  const p: Params = {};
  for (const s of tensorSpecs(config)) p[s.name] = tf.tensor(arrays.get(s.name)!, s.shape, 'float32');
  const x = tf.tensor2d(ids, [1, ids.length], 'int32');
  const { logits } = forward(config, p, x);
  const out = (await logits.data()) as Float32Array;
  tf.dispose([logits, x]);
  disposeParams(p);
  return out;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const IDS = Array.from({ length: 24 }, (_, i) => (i * 37 + 11) % 512);

describe('GPT-NeoX config.json', () => {
  test("Pythia's fields: partial rotary dims, parallel residual, GELU, untied embed_out", () => {
    const c = parseHFConfig(neoxConfigJson());
    assert.ok(c.family === 'gpt_neox' && c.rotaryDims === 8 && c.parallelResidual && c.activation === 'gelu');
    const pythia = parseHFConfig(neoxConfigJson({ hidden_size: 512, num_attention_heads: 8, rotary_pct: 0.25, use_parallel_residual: undefined }));
    assert.ok(pythia.family === 'gpt_neox' && pythia.rotaryDims === 16 && pythia.parallelResidual);
    const v5 = parseHFConfig(
      neoxConfigJson({
        rotary_pct: undefined,
        rotary_emb_base: undefined,
        rope_parameters: { rope_type: 'default', rope_theta: 500, partial_rotary_factor: 1 },
      }),
    );
    assert.ok(v5.family === 'gpt_neox' && v5.rotaryDims === 16 && v5.ropeTheta === 500);
  });
  const refusals: Array<[string, Json, RegExp]> = [
    ['a tied head', neoxConfigJson({ tie_word_embeddings: true }), /tie_word_embeddings = true is not supported/],
    ['ReLU', neoxConfigJson({ hidden_act: 'relu' }), /hidden_act = "relu" is not supported/],
    ['no attention biases', neoxConfigJson({ attention_bias: false }), /attention_bias = false is not supported/],
    ['odd rotary dims', neoxConfigJson({ rotary_pct: 0.2 }), /rotary_pct = 0.2 is not supported: head_dim 16 x rotary_pct gives 3 rotary dims/],
    ['scaled RoPE', neoxConfigJson({ rope_scaling: { type: 'linear', factor: 2 } }), /rope_scaling/],
  ];
  for (const [label, raw, message] of refusals)
    test(`refused, naming the field: ${label}`, () => assert.throws(() => parseHFConfig(raw, 'p/config.json'), message));
});

describe('GPT-NeoX forward properties', () => {
  test('with zero MLP output weights and biases, parallel and sequential residuals compute the same function; otherwise not', async () => {
    const par = neoxArrays(neoxConfigJson());
    const seq = parseHFConfig(neoxConfigJson({ use_parallel_residual: false }));
    const a = await logitsOf(par.config, par.arrays, IDS);
    const b = await logitsOf(seq, par.arrays, IDS);
    assert.ok(maxDiff(a, b) > 1e-2, 'the residual form matters');
    const silent = new Map(par.arrays);
    for (const n of silent.keys()) if (n.includes('dense_4h_to_h')) silent.set(n, new Float32Array(silent.get(n)!.length));
    assert.ok(maxDiff(await logitsOf(par.config, silent, IDS), await logitsOf(seq, silent, IDS)) <= 1e-5);
  });

  test('partial rotary: with q/k only in the pass-through dims, one block is blind to the order of earlier tokens', async () => {
    const one = neoxArrays(neoxConfigJson({ num_hidden_layers: 1 }));
    const arrays = new Map(one.arrays);
    const name = 'gpt_neox.layers.0.attention.query_key_value.';
    const w = arrays.get(name + 'weight')!.slice();
    const b = arrays.get(name + 'bias')!.slice();
    // rows: [head, (q, k, v), 16]; rotary dims are the first 8 of q and k: zero them
    for (let h = 0; h < 4; h++)
      for (const part of [0, 1])
        for (let e = 0; e < 8; e++) {
          const row = h * 48 + part * 16 + e;
          w.fill(0, row * 64, (row + 1) * 64);
          b[row] = 0;
        }
    arrays.set(name + 'weight', w);
    arrays.set(name + 'bias', b);
    const shuffled = [...IDS.slice(0, 10).reverse(), ...IDS.slice(10)];
    const v = 512;
    const last = (x: Float32Array) => x.subarray((IDS.length - 1) * v);
    assert.ok(maxDiff(last(await logitsOf(one.config, arrays, IDS)), last(await logitsOf(one.config, arrays, shuffled))) <= 1e-4);
    assert.ok(
      maxDiff(last(await logitsOf(one.config, one.arrays, IDS)), last(await logitsOf(one.config, one.arrays, shuffled))) > 1e-3,
      'the rotary dims see positions',
    );
  });
});

describe('GPT-NeoX folders', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  test('a downloaded folder loads, exports with transformers names, reloads bit for bit; scion info', async () => {
    const raw = { ...neoxConfigJson(), initializer_range: 0.02 };
    const { config, arrays } = neoxArrays(raw);
    const dir = await writeModelDir(path.join(tmp.dir, 'pythia'), raw, arrays);
    const model = await loadModel(dir);
    assert.deepEqual(model.config, config);
    const out = path.join(tmp.dir, 'pythia-export');
    await saveModel(out, model.config, model.params, model.rawConfig);
    disposeParams(model.params);
    const written = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as Json;
    assert.deepEqual(written['architectures'], ['GPTNeoXForCausalLM']);
    assert.equal(written['rotary_pct'], 0.5);
    assert.equal(written['use_parallel_residual'], true);
    const again = await readArrays(out);
    assert.deepEqual(again.config, config);
    for (const [n, a] of arrays) assert.deepEqual(again.arrays.get(n), a, n);
    const info = await runCommand(main, ['info', out, '--json']);
    const parsed = JSON.parse(info.stdout) as { family: string; parameters: number; headDim: number };
    assert.equal(parsed.family, 'gpt_neox');
    assert.equal(parsed.headDim, 16);
    assert.equal(parsed.parameters, parameterCount(config));
    assert.equal(
      parsed.parameters,
      [...arrays.values()].reduce((s, a) => s + a.length, 0),
    );
  });
});

test('GPT-NeoX trains on wasm: finite gradients everywhere, AdamW lowers the loss', async () => {
  const { config, arrays } = neoxArrays(neoxConfigJson({ hidden_size: 32, intermediate_size: 64, max_position_embeddings: 32 }), 3);
  const ids = Uint32Array.from({ length: 400 }, (_, i) => (i * 7 + (i % 5) * 31) % 512);
  const before = tf.memory().numTensors;
  const batch = batchFromStarts(ids, [0, 40, 90, 200], 16);
  const vars = toVariables(
    Object.fromEntries(
      tensorSpecs(config).map((s) => [
        s.name,
        tf.tensor(
          arrays.get(s.name)!.map((x) => x * 0.2),
          s.shape,
        ),
      ]),
    ),
  );
  const { grads } = await accumulatedGradients(config, vars, [batch]);
  for (const s of tensorSpecs(config)) assert.ok(((await grads[s.name]!.data()) as Float32Array).every(Number.isFinite), s.name);
  tf.dispose(Object.values(grads));
  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const losses: number[] = [];
  for (let i = 0; i < 6; i++) losses.push((await trainStep(config, vars, opt, [batch], 1e-2, 1)).loss);
  assert.ok(losses[5]! < losses[0]! - 0.1, losses.join(' '));
  opt.dispose();
  tf.dispose(Object.values(vars));
  disposeBatch(batch);
  assert.equal(tf.memory().numTensors, before);
});
