/**
 * The Llama-shaped families (Qwen2, Qwen3, Mistral) on the engine: config.json parsing and
 * refusals naming the field, the special cases that must equal the transformers Llama
 * reference (Qwen2 with zero q/k/v biases, Mistral with a window no shorter than the
 * context), properties only a correct implementation has (Qwen3's per-head q/k norm is blind
 * to a head's scale; Mistral's window makes attention relative to the last `window` tokens),
 * export round trips, `scion info`, and training gradients on wasm. The models are made by
 * Scion (the Llama fixture's weights, or a random init): none is a transformers reference
 * for its own family (see families-reference.test.ts for those).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../electron/cli/main.ts';
import { initBackend } from '../../electron/engine/backend.ts';
import { writeHandoff } from '../../electron/engine/handoff/write-handoff.ts';
import { type ModelConfig, parseHFConfig } from '../../electron/engine/models/config.ts';
import { parameterCount } from '../../electron/engine/models/family.ts';
import { loadModel } from '../../electron/engine/models/model.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { initArrays } from '../../electron/engine/train/init.ts';
import { expectedTensors } from '../helpers/fixtures.ts';
import { LLAMA_FIXTURE, type Json, type LlamaShaped, familyArrays, familyConfigJson, writeModelDir } from '../helpers/family-models.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { logitsOf, maxDiff } from '../helpers/logits.ts';
import { checkTrains } from '../helpers/train-check.ts';
import { exportRoundTrip } from '../helpers/export-check.ts';
import { readArrays } from '../growth/helpers.ts';

const FAMILIES: LlamaShaped[] = ['qwen2', 'qwen3', 'mistral'];

before(async () => {
  await initBackend(process.env['SCION_BACKEND'] ?? 'wasm');
  await ensureGradients();
});

describe('config.json of the Llama-shaped families', () => {
  test('each family parses with its own switches and defaults', () => {
    const q2 = parseHFConfig(familyConfigJson('qwen2'));
    assert.ok(q2.family === 'qwen2' && q2.qkvBias === true && !q2.qkNorm && q2.slidingWindow === undefined);
    const q3 = parseHFConfig(familyConfigJson('qwen3'));
    assert.ok(q3.family === 'qwen3' && q3.qkNorm === true && !q3.qkvBias && q3.headDim === 16);
    const q3Default = parseHFConfig({ ...familyConfigJson('qwen3'), head_dim: undefined });
    assert.ok(q3Default.family === 'qwen3' && q3Default.headDim === 128, "Qwen3's head_dim defaults to 128, not hidden / heads");
    const m = parseHFConfig(familyConfigJson('mistral', { sliding_window: 32 }));
    assert.ok(m.family === 'mistral' && m.slidingWindow === 32);
    const mNull = parseHFConfig(familyConfigJson('mistral', { sliding_window: null }));
    assert.ok(mNull.family === 'mistral' && mNull.slidingWindow === undefined);
    const byType = parseHFConfig({ ...familyConfigJson('qwen2'), architectures: undefined });
    assert.equal(byType.family, 'qwen2');
  });

  const refusals: Array<[string, Json, RegExp]> = [
    ['Qwen2 with sliding windows on', familyConfigJson('qwen2', { use_sliding_window: true }), /use_sliding_window = true is not supported/],
    [
      'Qwen2 with a sliding layer',
      familyConfigJson('qwen2', { layer_types: ['full_attention', 'sliding_attention'] }),
      /layer_types\[1\] = "sliding_attention"/,
    ],
    ['Qwen3 with attention biases', familyConfigJson('qwen3', { attention_bias: true }), /attention_bias = true is not supported/],
    ['Qwen3 with sliding windows on', familyConfigJson('qwen3', { use_sliding_window: true }), /use_sliding_window = true/],
    ['Mistral with a zero window', familyConfigJson('mistral', { sliding_window: 0 }), /sliding_window = 0 is not supported/],
    ['Qwen2 with GELU', familyConfigJson('qwen2', { hidden_act: 'gelu' }), /hidden_act = "gelu" is not supported/],
    ['Mistral with YaRN RoPE', familyConfigJson('mistral', { rope_parameters: { rope_type: 'yarn', factor: 4 } }), /rope_parameters\.rope_type = "yarn"/],
    ['Llama with attention biases', familyConfigJson('llama', { attention_bias: true }), /attention_bias = true/],
    ['GPT-NeoX without hidden_size', { architectures: ['GPTNeoXForCausalLM'] }, /required field hidden_size is missing/],
    ['OPT without hidden_size (read since issue 17: opt-phi3.test.ts)', { architectures: ['OPTForCausalLM'] }, /required field hidden_size is missing/],
    ['Phi-3 without hidden_size (read since issue 17)', { architectures: ['Phi3ForCausalLM'] }, /required field hidden_size is missing/],
    ['Gemma 3 with vision', { architectures: ['Gemma3ForConditionalGeneration'] }, /Gemma 3 with vision/],
    [
      'an unknown architecture',
      { architectures: ['FooForCausalLM'] },
      /supported: GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM, GPTNeoXForCausalLM/,
    ],
  ];
  for (const [label, raw, message] of refusals) {
    test(`refused, naming the field: ${label}`, () => {
      assert.throws(
        () => parseHFConfig(raw, 'x/config.json'),
        (e: Error) => message.test(e.message) && e.message.startsWith('x/config.json: '),
      );
    });
  }
});

/** The Llama fixture's trained weights and its transformers probe (ids and logits). */
let llama: Map<string, Float32Array>;
let probe: Awaited<ReturnType<typeof expectedTensors>>;
before(async () => {
  llama = (await readArrays(LLAMA_FIXTURE)).arrays;
  probe = await expectedTensors('llama-shakespeare-h64-l2');
});

describe('special cases equal to the transformers Llama reference', () => {
  test('Qwen2 with zero q/k/v biases computes the Llama reference logits (and random biases do not)', async () => {
    const zero = familyArrays(familyConfigJson('qwen2'), llama, { biasStd: 0 });
    const got = await logitsOf(zero.config, zero.arrays, probe.probeIds, probe.probeShape);
    assert.ok(maxDiff(got, probe.probeLogits) <= 1e-4, `max |dlogit| ${maxDiff(got, probe.probeLogits)}`);
    const biased = familyArrays(familyConfigJson('qwen2'), llama, { biasStd: 0.3 });
    const other = await logitsOf(biased.config, biased.arrays, probe.probeIds, probe.probeShape);
    assert.ok(maxDiff(other, probe.probeLogits) > 1e-2, 'the biases must be read');
  });

  test('Mistral with sliding_window >= the context (or null) computes the Llama reference logits', async () => {
    for (const window of [probe.probeShape[1], 4096, null]) {
      const m = familyArrays(familyConfigJson('mistral', { sliding_window: window }), llama);
      const got = await logitsOf(m.config, m.arrays, probe.probeIds, probe.probeShape);
      assert.ok(maxDiff(got, probe.probeLogits) <= 1e-4, `window ${window}: max |dlogit| ${maxDiff(got, probe.probeLogits)}`);
    }
  });

  test('Mistral with a window of 8: the first 8 positions equal Llama, later ones differ', async () => {
    const m = familyArrays(familyConfigJson('mistral', { sliding_window: 8 }), llama);
    const got = await logitsOf(m.config, m.arrays, probe.probeIds, probe.probeShape);
    const [b, t] = probe.probeShape;
    const v = got.length / (b * t);
    for (let s = 0; s < b; s++) {
      const row = s * t * v;
      assert.ok(maxDiff(got, probe.probeLogits, row, row + 8 * v) <= 1e-4, `sequence ${s}: positions 0..7 see the same tokens`);
      assert.ok(maxDiff(got, probe.probeLogits, row + 8 * v, row + t * v) > 1e-2, `sequence ${s}: positions 8.. must see only the window`);
    }
  });
});

describe('properties only a correct implementation has', () => {
  /** q_proj rows of query head 1 and k_proj rows of KV head 0 in every layer x 8 (head_dim 16). */
  function scaleOneHead(arrays: Map<string, Float32Array>): Map<string, Float32Array> {
    const out = new Map(arrays);
    for (const [name, a] of arrays) {
      const m = /self_attn\.(q|k)_proj\.weight$/.exec(name);
      if (!m) continue;
      const b = a.slice();
      const head = m[1] === 'q' ? 1 : 0;
      for (let i = head * 16 * 64; i < (head + 1) * 16 * 64; i++) b[i]! *= 8;
      out.set(name, b);
    }
    return out;
  }

  test("Qwen3's q/k norm is per head: scaling one head's q and k rows leaves the logits unchanged (Llama's change)", async () => {
    const q3 = familyArrays(familyConfigJson('qwen3'), llama, { normJitter: 0.2 });
    const base = await logitsOf(q3.config, q3.arrays, probe.probeIds, probe.probeShape);
    const scaled = await logitsOf(q3.config, scaleOneHead(q3.arrays), probe.probeIds, probe.probeShape);
    assert.ok(maxDiff(base, scaled) <= 1e-4, `max |dlogit| ${maxDiff(base, scaled)}`);
    const ll = familyArrays(familyConfigJson('llama'), llama);
    const llBase = await logitsOf(ll.config, ll.arrays, probe.probeIds, probe.probeShape);
    const llScaled = await logitsOf(ll.config, scaleOneHead(ll.arrays), probe.probeIds, probe.probeShape);
    assert.ok(maxDiff(llBase, llScaled) > 1e-2, 'negative control: without q/k norms the scale matters');
    assert.ok(maxDiff(base, probe.probeLogits) > 1e-2, 'the norms act');
  });

  test("Mistral's window: one block, the logits at position i are those of the window's tokens alone (RoPE is relative)", async () => {
    const W = 8;
    const oneBlock = new Map([...llama].filter(([n]) => !n.startsWith('model.layers.1.')));
    const m = familyArrays(familyConfigJson('mistral', { sliding_window: W, num_hidden_layers: 1 }), oneBlock);
    const t = 24;
    const ids = probe.probeIds.slice(0, t);
    const full = await logitsOf(m.config, m.arrays, ids, [1, t]);
    const v = full.length / t;
    for (const i of [W, 13, t - 1]) {
      const alone = await logitsOf(m.config, m.arrays, ids.slice(i - W + 1, i + 1), [1, W]);
      const d = maxDiff(full.subarray(i * v, (i + 1) * v), alone.subarray((W - 1) * v, W * v));
      assert.ok(d <= 1e-4, `position ${i}: max |dlogit| ${d}`);
    }
    const noWindow = familyArrays(familyConfigJson('llama', { num_hidden_layers: 1 }), oneBlock);
    const llama1 = await logitsOf(noWindow.config, noWindow.arrays, ids, [1, t]);
    assert.ok(maxDiff(llama1, full, (t - 1) * v, t * v) > 1e-2, 'negative control: full attention sees more');
  });
});

/** A small config.json of `family`, random init as Scion trains from scratch (biases and norms perturbed so they matter). */
function tinyConfigJson(family: LlamaShaped): Json {
  return familyConfigJson(family, {
    vocab_size: 256,
    hidden_size: 32,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    max_position_embeddings: 32,
    ...(family === 'mistral' ? { sliding_window: 8 } : {}),
    ...(family === 'llama' ? {} : { tie_word_embeddings: family === 'qwen2' }),
  });
}

function tinyArrays(raw: Json, seed = 3): { config: ModelConfig; arrays: Map<string, Float32Array> } {
  const config = parseHFConfig(raw);
  const init = new Map([...initArrays(config, seed)].map(([n, a]) => [n, a.data] as const));
  for (const [n] of init) if (n.endsWith('_proj.bias') || n.endsWith('_norm.weight')) init.delete(n);
  return familyArrays(raw, init, { biasStd: 0.1, normJitter: 0.1, seed });
}

describe('export round trips and scion info', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  for (const family of FAMILIES) {
    test(`${family}: a downloaded folder loads, exports with transformers' names, and reloads bit for bit`, async () => {
      const raw = { ...tinyConfigJson(family), initializer_range: 0.02, transformers_version: '5.17.0' };
      const { config, arrays } = tinyArrays(raw);
      const dir = await writeModelDir(path.join(tmp.dir, `${family}-src`), raw, arrays);
      const out = path.join(tmp.dir, `${family}-export`);
      const written = await exportRoundTrip(dir, out, config, arrays);
      const arch = { qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', mistral: 'MistralForCausalLM', llama: 'LlamaForCausalLM' }[family];
      assert.deepEqual(written['architectures'], [arch]);
      assert.equal(written['model_type'], family);
      assert.equal(written['head_dim'], 8);
      assert.equal(written['initializer_range'], 0.02, 'fields Scion does not model survive');
      if (family !== 'mistral') {
        assert.equal(written['use_sliding_window'], false);
        assert.deepEqual(written['layer_types'], ['full_attention', 'full_attention']);
      } else assert.equal(written['sliding_window'], 8);
      assert.equal(written['tie_word_embeddings'], family === 'qwen2');

      const info = await runCommand(main, ['info', out, '--json']);
      assert.equal(info.code, 0, info.stderr);
      const parsed = JSON.parse(info.stdout) as { family: string; parameters: number; shape: { hidden: number; kvHeads: number } };
      assert.equal(parsed.family, family);
      assert.equal(
        parsed.parameters,
        [...arrays.values()].reduce((s, a) => s + a.length, 0),
      );
      assert.equal(parsed.parameters, parameterCount(config));
      assert.equal(parsed.shape.hidden, 32);
      assert.equal(parsed.shape.kvHeads, 2);
      const text = await runCommand(main, ['info', out]);
      assert.match(text.stdout, new RegExp(`family: +${{ qwen2: 'Qwen2', qwen3: 'Qwen3', mistral: 'Mistral', llama: 'Llama' }[family]} \\(${family}\\)`));
      assert.match(text.stdout, /head_dim 8/);
    });
  }

  test('scion handoff (GPT-2 and Llama only) refuses a Qwen2 model by its family, before writing', async () => {
    const raw = tinyConfigJson('qwen2');
    const dir = await writeModelDir(path.join(tmp.dir, 'qwen2-handoff'), raw, tinyArrays(raw).arrays);
    const out = path.join(tmp.dir, 'handoff-out');
    await assert.rejects(writeHandoff({ model: dir, data: path.join(dir, 'config.json'), out, steps: 1 }), /GPT-2 and Llama models only, not Qwen2/);
    assert.equal(existsSync(out), false);
  });

  test('a checkpoint missing the family tensors is refused, naming the tensor', async () => {
    const raw = tinyConfigJson('qwen2');
    const { arrays } = tinyArrays(tinyConfigJson('llama'));
    const dir = path.join(tmp.dir, 'qwen2-without-biases');
    await writeModelDir(dir, tinyConfigJson('llama'), arrays);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(raw));
    await assert.rejects(loadModel(dir), /checkpoint has no tensor 'model\.layers\.0\.self_attn\.q_proj\.bias'/);
  });
});

describe('training on wasm', () => {
  for (const family of FAMILIES) {
    test(`${family}: every tensor gets a finite gradient, the family's own ones non-zero, and AdamW lowers the loss`, async () => {
      const { config, arrays } = tinyArrays(tinyConfigJson(family), 5);
      await checkTrains(config, arrays, 256, /_proj\.bias$|_norm\.weight$/);
    });
  }
});
