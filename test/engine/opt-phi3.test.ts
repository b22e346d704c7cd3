/**
 * OPT and Phi-3 on the engine: the logits of hand-built checkpoints against a numpy forward
 * written from transformers' semantics (test/fixtures/numpy-families, made by
 * scripts/numpy_reference_families.py: not Scion's code, not transformers itself); special
 * cases that are transformers' own references (OPT pre-LN carrying the GPT-2 fixture, Phi-3
 * carrying the Llama fixture with its projections fused); config.json
 * parsing of the real checkpoints' configs and refusals naming the field; properties of OPT's
 * position offset; export round trips, old checkpoint names and `scion info`; gradients and
 * AdamW steps on wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../electron/cli/main.ts';
import { initBackend } from '../../electron/engine/backend.ts';
import { parseHFConfig } from '../../electron/engine/models/config.ts';
import { forward, parameterCount, tensorSpecs } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { writeSafetensors } from '../../electron/engine/io/safetensors.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import type { Json } from '../helpers/family-models.ts';
import { NUMPY_MODELS, type NumpyModel, numpyModelDir, numpyProbe } from '../helpers/numpy-families.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { readArrays } from '../growth/helpers.ts';
import { logitsOf, maxDiff } from '../helpers/logits.ts';
import { expectedTensors, fixtureDir } from '../helpers/fixtures.ts';
import { checkTrains } from '../helpers/train-check.ts';
import { exportRoundTrip } from '../helpers/export-check.ts';

before(async () => {
  await initBackend(process.env['SCION_BACKEND'] ?? 'wasm');
  await ensureGradients();
});

const configOf = (name: NumpyModel): Json => JSON.parse(readFileSync(path.join(numpyModelDir(name), 'config.json'), 'utf8')) as Json;

describe('OPT and Phi-3 logits against the numpy reference (transformers semantics)', () => {
  for (const name of NUMPY_MODELS)
    test(`${name}: loaded from its folder, logits within 1e-4`, async () => {
      const before = tf.memory().numTensors;
      const model = await loadModel(numpyModelDir(name));
      const probe = await numpyProbe(name);
      const x = tf.tensor2d(probe.ids, probe.shape, 'int32');
      const { logits } = forward(model.config, model.params, x);
      const got = (await logits.data()) as Float32Array;
      tf.dispose([logits, x]);
      disposeParams(model.params);
      assert.equal(tf.memory().numTensors, before, 'leaked tensors');
      assert.equal(got.length, probe.logits.length);
      assert.ok(maxDiff(got, probe.logits) <= 1e-4, `max |dlogit| ${maxDiff(got, probe.logits)}`);
    });

  test("OPT reads positions 2..T+1: rows 0 and 1 of embed_positions change nothing, row 2 changes the first token's logits", async () => {
    const { config, arrays } = await readArrays(numpyModelDir('opt-pre-tied'));
    const probe = await numpyProbe('opt-pre-tied');
    const table = arrays.get('model.decoder.embed_positions.weight')!;
    const d = 32;
    const changed = (rows: number[]) => {
      const t = table.slice();
      for (const r of rows) for (let e = 0; e < d; e++) t[r * d + e]! += 3 * Math.sin(e + 1); // not a constant shift, which LayerNorm removes
      return new Map(arrays).set('model.decoder.embed_positions.weight', t);
    };
    const base = await logitsOf(config, arrays, probe.ids, probe.shape);
    assert.ok(maxDiff(base, probe.logits) <= 1e-4);
    assert.equal(maxDiff(await logitsOf(config, changed([0, 1]), probe.ids, probe.shape), base), 0, 'rows 0 and 1 are never read');
    const v = config.vocabSize;
    const third = await logitsOf(config, changed([2]), probe.ids, probe.shape);
    assert.ok(maxDiff(third.subarray(0, v), base.subarray(0, v)) > 1e-2, 'row 2 is the first position');
  });
});

/** x [rows, cols] (row-major) transposed; `from`..`to` picks columns first. */
function transposeCols(x: Float32Array, rows: number, cols: number, from = 0, to = cols): Float32Array {
  const out = new Float32Array((to - from) * rows);
  for (let r = 0; r < rows; r++) for (let c = from; c < to; c++) out[(c - from) * rows + r] = x[r * cols + c]!;
  return out;
}

describe("special cases that are transformers' own GPT-2 and Llama references", () => {
  test("OPT pre-LN with gelu_new and GPT-2's weights (Conv1D transposed, wpe at rows 2..) computes transformers' GPT-2 probe logits", async () => {
    const gpt2 = await readArrays(fixtureDir('gpt2-shakespeare-d64-l2'));
    const probe = await expectedTensors('gpt2-shakespeare-d64-l2');
    const d = 64;
    const f = 256;
    const g = (n: string) => gpt2.arrays.get('transformer.' + n)!;
    const wpe = g('wpe.weight');
    const positions = new Float32Array((128 + 2) * d).fill(5); // rows 0 and 1: never read
    positions.set(wpe, 2 * d);
    const arrays = new Map<string, Float32Array>([
      ['model.decoder.embed_tokens.weight', g('wte.weight')],
      ['model.decoder.embed_positions.weight', positions],
      ['model.decoder.final_layer_norm.weight', g('ln_f.weight')],
      ['model.decoder.final_layer_norm.bias', g('ln_f.bias')],
    ]);
    for (let i = 0; i < 2; i++) {
      const h = (n: string) => g(`h.${i}.${n}`);
      const l = `model.decoder.layers.${i}.`;
      ['q', 'k', 'v'].forEach((part, j) => {
        arrays.set(l + `self_attn.${part}_proj.weight`, transposeCols(h('attn.c_attn.weight'), d, 3 * d, j * d, (j + 1) * d));
        arrays.set(l + `self_attn.${part}_proj.bias`, h('attn.c_attn.bias').slice(j * d, (j + 1) * d));
      });
      arrays.set(l + 'self_attn.out_proj.weight', transposeCols(h('attn.c_proj.weight'), d, d));
      arrays.set(l + 'self_attn.out_proj.bias', h('attn.c_proj.bias'));
      arrays.set(l + 'fc1.weight', transposeCols(h('mlp.c_fc.weight'), d, f));
      arrays.set(l + 'fc1.bias', h('mlp.c_fc.bias'));
      arrays.set(l + 'fc2.weight', transposeCols(h('mlp.c_proj.weight'), f, d));
      arrays.set(l + 'fc2.bias', h('mlp.c_proj.bias'));
      for (const [from, to] of [
        ['ln_1', 'self_attn_layer_norm'],
        ['ln_2', 'final_layer_norm'],
      ] as const)
        for (const k of ['weight', 'bias']) arrays.set(l + `${to}.${k}`, h(`${from}.${k}`));
    }
    const config = parseHFConfig({
      architectures: ['OPTForCausalLM'],
      vocab_size: 512,
      hidden_size: d,
      ffn_dim: f,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      max_position_embeddings: 128,
      activation_function: 'gelu_new',
    });
    const got = await logitsOf(config, arrays, probe.probeIds, probe.probeShape);
    assert.ok(maxDiff(got, probe.probeLogits) <= 1e-4, `max |dlogit| ${maxDiff(got, probe.probeLogits)}`);
    const shifted = new Float32Array(positions.length);
    shifted.set(wpe, 0); // positions read from row 0: the offset ignored
    const wrong = await logitsOf(config, new Map(arrays).set('model.decoder.embed_positions.weight', shifted), probe.probeIds, probe.probeShape);
    assert.ok(maxDiff(wrong, probe.probeLogits) > 1e-2, 'the offset of 2 must matter');
  });

  /** The Llama fixture's weights with q/k/v and gate/up stacked by rows, as Phi-3 stores them. */
  function phi3FromLlama(llama: Map<string, Float32Array>, gateFirst = true): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const cat = (...parts: Float32Array[]) => {
      const a = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        a.set(p, at);
        at += p.length;
      }
      return a;
    };
    for (const [n, a] of llama) {
      const m = /^(model\.layers\.\d+\.)(self_attn\.[qkv]_proj|mlp\.(gate|up)_proj)\.weight$/.exec(n);
      if (!m) out.set(n, a);
      else if (n.endsWith('q_proj.weight')) {
        const at = (x: string) => llama.get(m[1] + `self_attn.${x}_proj.weight`)!;
        out.set(m[1] + 'self_attn.qkv_proj.weight', cat(at('q'), at('k'), at('v')));
      } else if (n.endsWith('gate_proj.weight')) {
        const gate = a;
        const up = llama.get(m[1] + 'mlp.up_proj.weight')!;
        out.set(m[1] + 'mlp.gate_up_proj.weight', gateFirst ? cat(gate, up) : cat(up, gate));
      }
    }
    return out;
  }

  test("Phi-3 with the Llama fixture's weights fused (full rotary, no window) computes transformers' Llama probe logits; a window of 8 changes only positions 8..", async () => {
    const llama = await readArrays(fixtureDir('llama-shakespeare-h64-l2'));
    const probe = await expectedTensors('llama-shakespeare-h64-l2');
    const raw = JSON.parse(readFileSync(path.join(fixtureDir('llama-shakespeare-h64-l2'), 'config.json'), 'utf8')) as Json;
    for (const k of ['attention_bias', 'mlp_bias', 'pretraining_tp']) delete raw[k];
    const phi3 = (extra: Json) => parseHFConfig({ ...raw, architectures: ['Phi3ForCausalLM'], model_type: 'phi3', partial_rotary_factor: 1, ...extra });
    const fused = phi3FromLlama(llama.arrays);
    const got = await logitsOf(phi3({ sliding_window: null }), fused, probe.probeIds, probe.probeShape);
    assert.ok(maxDiff(got, probe.probeLogits) <= 1e-4, `max |dlogit| ${maxDiff(got, probe.probeLogits)}`);
    const swapped = await logitsOf(phi3({ sliding_window: null }), phi3FromLlama(llama.arrays, false), probe.probeIds, probe.probeShape);
    assert.ok(maxDiff(swapped, probe.probeLogits) > 1e-2, 'gate_up_proj is gate rows, then up rows');
    const windowed = await logitsOf(phi3({ sliding_window: 8 }), fused, probe.probeIds, probe.probeShape);
    const [b, t] = probe.probeShape;
    const v = windowed.length / (b * t);
    for (let s = 0; s < b; s++) {
      const row = s * t * v;
      assert.ok(maxDiff(windowed.subarray(row, row + 8 * v), probe.probeLogits.subarray(row, row + 8 * v)) <= 1e-4, `sequence ${s}: positions 0..7`);
      assert.ok(
        maxDiff(windowed.subarray(row + 8 * v, row + t * v), probe.probeLogits.subarray(row + 8 * v, row + t * v)) > 1e-2,
        `sequence ${s}: positions 8..`,
      );
    }
  });
});

/** Configs as the real checkpoints' config.json files have them (facebook/opt-125m, -350m; microsoft/Phi-3-mini-4k-instruct). */
const OPT_125M: Json = {
  activation_dropout: 0.0,
  activation_function: 'relu',
  architectures: ['OPTForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 2,
  do_layer_norm_before: true,
  dropout: 0.1,
  eos_token_id: 2,
  ffn_dim: 3072,
  hidden_size: 768,
  init_std: 0.02,
  layerdrop: 0.0,
  max_position_embeddings: 2048,
  model_type: 'opt',
  num_attention_heads: 12,
  num_hidden_layers: 12,
  pad_token_id: 1,
  prefix: '</s>',
  torch_dtype: 'float16',
  use_cache: true,
  vocab_size: 50272,
  word_embed_proj_dim: 768,
};
const OPT_350M: Json = {
  ...OPT_125M,
  hidden_size: 1024,
  ffn_dim: 4096,
  num_hidden_layers: 24,
  num_attention_heads: 16,
  do_layer_norm_before: false,
  word_embed_proj_dim: 512,
};
const PHI3_MINI: Json = {
  architectures: ['Phi3ForCausalLM'],
  attention_dropout: 0.0,
  bos_token_id: 1,
  embd_pdrop: 0.0,
  eos_token_id: 32000,
  hidden_act: 'silu',
  hidden_size: 3072,
  initializer_range: 0.02,
  intermediate_size: 8192,
  max_position_embeddings: 4096,
  model_type: 'phi3',
  num_attention_heads: 32,
  num_hidden_layers: 32,
  num_key_value_heads: 32,
  original_max_position_embeddings: 4096,
  pad_token_id: 32000,
  resid_pdrop: 0.0,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  sliding_window: 2047,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  use_cache: true,
  vocab_size: 32064,
};

describe('OPT and Phi-3 config.json', () => {
  test("the real checkpoints' configs: OPT-125M (pre-LN, tied), OPT-350M (post-LN, projections), Phi-3-mini-4k (window 2047)", () => {
    const a = parseHFConfig(OPT_125M);
    assert.ok(a.family === 'opt' && a.doLayerNormBefore && a.tieWordEmbeddings && a.wordEmbedProjDim === 768 && a.enableBias && a.activation === 'relu');
    assert.equal(parameterCount(a), 125_239_296, 'OPT-125M has 125,239,296 parameters (tied head counted once)');
    const old = parseHFConfig({ ...OPT_125M, hidden_size: undefined, d_model: 768 });
    assert.ok(old.family === 'opt' && old.hiddenSize === 768, 'older configs name hidden_size d_model');
    const b = parseHFConfig(OPT_350M);
    assert.ok(b.family === 'opt' && !b.doLayerNormBefore && b.wordEmbedProjDim === 512);
    assert.equal(parameterCount(b), 331_196_416, 'OPT-350M has 331,196,416 parameters');
    const c = parseHFConfig(PHI3_MINI);
    assert.ok(c.family === 'phi3' && c.fusedProjections && c.slidingWindow === 2047 && c.headDim === 96 && c.rotaryDims === undefined && !c.tieWordEmbeddings);
    assert.equal(parameterCount(c), 3_821_079_552, 'Phi-3-mini has 3,821,079,552 parameters');
    const partial = parseHFConfig({ ...PHI3_MINI, partial_rotary_factor: 0.75, sliding_window: null });
    assert.ok(partial.family === 'phi3' && partial.rotaryDims === 72 && partial.slidingWindow === undefined);
  });

  const refusals: Array<[string, Json, RegExp]> = [
    ['OPT with SiLU', { ...OPT_125M, activation_function: 'silu' }, /activation_function = "silu" is not supported/],
    ['OPT without its final LayerNorm', { ...OPT_125M, _remove_final_layer_norm: true }, /_remove_final_layer_norm = true is not supported/],
    ['OPT with a non-boolean do_layer_norm_before', { ...OPT_125M, do_layer_norm_before: 'yes' }, /do_layer_norm_before = "yes" is not supported/],
    ['OPT with heads not dividing hidden', { ...OPT_125M, num_attention_heads: 7 }, /num_attention_heads = 7 is not supported/],
    ['OPT without ffn_dim', { ...OPT_125M, ffn_dim: undefined }, /required field ffn_dim is missing/],
    [
      'Phi-3-mini-128k (longrope)',
      { ...PHI3_MINI, rope_scaling: { type: 'longrope', long_factor: [1], short_factor: [1] } },
      /rope_scaling = .*longrope.* is not supported/,
    ],
    [
      'Phi-3 with rope_parameters longrope',
      { ...PHI3_MINI, rope_parameters: { rope_type: 'longrope', rope_theta: 10000 } },
      /rope_parameters\.rope_type = "longrope"/,
    ],
    [
      'Phi-3 with odd rotary dims',
      { ...PHI3_MINI, partial_rotary_factor: 0.1 },
      /partial_rotary_factor = 0.1 is not supported: head_dim 96 x partial_rotary_factor gives 9/,
    ],
    ['Phi-3 with attention biases', { ...PHI3_MINI, attention_bias: true }, /attention_bias = true is not supported/],
    ['Phi-3 with GELU', { ...PHI3_MINI, hidden_act: 'gelu' }, /hidden_act = "gelu" is not supported/],
    ['Phi-3 with a zero window', { ...PHI3_MINI, sliding_window: 0 }, /sliding_window = 0 is not supported/],
  ];
  for (const [label, raw, message] of refusals)
    test(`refused, naming the field: ${label}`, () =>
      assert.throws(
        () => parseHFConfig(raw, 'm/config.json'),
        (e: Error) => message.test(e.message) && e.message.startsWith('m/config.json: '),
      ));
});

describe('OPT and Phi-3 folders', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  const expectFields: Record<string, Json> = {
    'opt-post-proj': { architectures: ['OPTForCausalLM'], do_layer_norm_before: false, word_embed_proj_dim: 24, tie_word_embeddings: true, enable_bias: true },
    'opt-plain-untied': { enable_bias: false, layer_norm_elementwise_affine: false, tie_word_embeddings: false, activation_function: 'gelu' },
    'phi3-gqa-partial-w6': { architectures: ['Phi3ForCausalLM'], partial_rotary_factor: 0.5, sliding_window: 6, num_key_value_heads: 2, rope_scaling: null },
  };
  for (const [name, fields] of Object.entries(expectFields) as Array<[NumpyModel, Json]>)
    test(`${name}: exports with transformers' names and fields, reloads bit for bit; scion info`, async () => {
      const dir = numpyModelDir(name);
      const src = await readArrays(dir);
      const out = path.join(tmp.dir, `${name}-export`);
      const written = await exportRoundTrip(dir, out, src.config, src.arrays);
      for (const [k, v] of Object.entries(fields)) assert.deepEqual(written[k], v, k);
      const info = await runCommand(main, ['info', out, '--json']);
      assert.equal(info.code, 0, info.stderr);
      const parsed = JSON.parse(info.stdout) as { family: string; familyName: string; parameters: number };
      assert.equal(parsed.family, src.config.family);
      assert.equal(parsed.familyName, src.config.family === 'opt' ? 'OPT' : 'Phi-3');
      assert.equal(
        parsed.parameters,
        [...src.arrays.values()].reduce((s, a) => s + a.length, 0),
      );
    });

  test("an OPT checkpoint with the hub bins' names (decoder.*, no model. prefix) and a stored lm_head copy loads", async () => {
    const { config, arrays } = await readArrays(numpyModelDir('opt-pre-tied'));
    const dir = path.join(tmp.dir, 'opt-old-names');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(configOf('opt-pre-tied')));
    const specs = tensorSpecs(config).map((s) => ({ ...s, name: s.name.replace(/^model\./, '') }));
    const embed = tensorSpecs(config)[0]!;
    specs.push({ name: 'lm_head.weight', shape: embed.shape });
    await writeSafetensors(path.join(dir, 'model.safetensors'), specs, (n) => arrays.get(n === 'lm_head.weight' ? embed.name : 'model.' + n)!, {
      format: 'pt',
    });
    const model = await loadModel(dir);
    assert.deepEqual(model.config, config);
    for (const [n, a] of arrays) assert.deepEqual((await model.params[n]!.data()) as Float32Array, a, n);
    disposeParams(model.params);
  });
});

describe('OPT and Phi-3 training on wasm', () => {
  for (const name of ['opt-post-proj', 'opt-plain-untied', 'phi3-gqa-partial-w6'] as const)
    test(`${name}: every tensor gets a finite, non-zero gradient, and AdamW lowers the loss`, async () => {
      const { config, arrays } = await readArrays(numpyModelDir(name));
      await checkTrains(config, new Map([...arrays].map(([n, a]) => [n, a.map((x) => x * 0.5)] as const)), 96);
    });
});
