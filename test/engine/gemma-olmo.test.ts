/**
 * Gemma, OLMo and OLMo2 on the engine: config.json parsing and refusals naming the field,
 * logits against an independent float64 numpy reference written from transformers'
 * semantics (test/helpers/decoder_reference.py; transformers is not installed here, see
 * families-reference.test.ts for its fixtures), the reference itself first checked against
 * the stored transformers Llama logits; export round trips with transformers' field names,
 * `scion info`, and training on wasm. The models are the Llama fixture's weights under each
 * family's config (test/helpers/gemma-olmo-models.ts).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../electron/cli/main.ts';
import { initBackend } from '../../electron/engine/backend.ts';
import { parseHFConfig } from '../../electron/engine/models/config.ts';
import { parameterCount, tensorSpecs } from '../../electron/engine/models/family.ts';
import { initArrays } from '../../electron/engine/train/init.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { findTorchPython } from '../handoff/python.ts';
import { referenceLogits } from '../helpers/decoder-reference.ts';
import { expectedTensors } from '../helpers/fixtures.ts';
import { LLAMA_FIXTURE, type Json, writeModelDir } from '../helpers/family-models.ts';
import { ARCH, GEMMA_OLMO, type GemmaOlmo, gemmaOlmoArrays, gemmaOlmoConfigJson } from '../helpers/gemma-olmo-models.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { logitsOf, maxDiff } from '../helpers/logits.ts';
import { checkTrains } from '../helpers/train-check.ts';
import { exportRoundTrip } from '../helpers/export-check.ts';
import { readArrays } from '../growth/helpers.ts';

type Arrays = Map<string, Float32Array>;
const { python, skip: noPython } = findTorchPython();
const tmp = tempDir();
let llama: Arrays;

before(async () => {
  await initBackend(process.env['SCION_BACKEND'] ?? 'wasm');
  await ensureGradients();
  llama = (await readArrays(LLAMA_FIXTURE)).arrays;
});
after(() => tmp.cleanup());

describe('config.json of Gemma, OLMo and OLMo2', () => {
  test("each family's switches and transformers' defaults", () => {
    const g = parseHFConfig({ ...gemmaOlmoConfigJson('gemma'), head_dim: undefined, tie_word_embeddings: undefined });
    assert.ok(g.family === 'gemma' && g.normGainOffset === 1 && g.embedScale === true && g.mlpActivation === 'gelu_tanh');
    assert.equal(g.headDim, 256, "Gemma's head_dim defaults to 256, not hidden / heads");
    assert.equal(g.tieWordEmbeddings, true, 'Gemma ties its head unless told otherwise');
    const legacy = parseHFConfig({ ...gemmaOlmoConfigJson('gemma'), hidden_activation: undefined, hidden_act: 'gelu' });
    assert.ok(legacy.family === 'gemma' && legacy.mlpActivation === 'gelu_tanh', "gemma-2b's legacy hidden_act 'gelu' still runs the tanh GELU");
    const g3 = parseHFConfig({ ...gemmaOlmoConfigJson('gemma3_text'), layer_types: undefined, num_hidden_layers: 7 });
    assert.ok(g3.family === 'gemma3_text' && g3.sandwichNorm === true && g3.qkNorm === true && g3.queryPreAttnScalar === 24);
    assert.deepEqual(g3.slidingLayers, [true, true, true, true, true, false, true], 'no layer_types: every 6th layer full (sliding_window_pattern 6)');
    const nested = parseHFConfig({
      ...gemmaOlmoConfigJson('gemma3_text'),
      rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 1e6 }, sliding_attention: { rope_type: 'default', rope_theta: 1e4 } },
    });
    assert.ok(nested.family === 'gemma3_text' && nested.ropeTheta === 1e6 && nested.ropeLocalTheta === 1e4, "transformers 5's rope_parameters per layer type");
    const o = parseHFConfig(gemmaOlmoConfigJson('olmo', { clip_qkv: 8 }));
    assert.ok(o.family === 'olmo' && o.nonParametricNorm === true && o.clipQkv === 8 && o.rmsNormEps === 1e-5);
    const oNull = parseHFConfig(gemmaOlmoConfigJson('olmo', { clip_qkv: null }));
    assert.ok(oNull.family === 'olmo' && oNull.clipQkv === undefined);
    const o2 = parseHFConfig(gemmaOlmoConfigJson('olmo2'));
    assert.ok(o2.family === 'olmo2' && o2.postNorm === true && o2.qkNormFull === true && !o2.qkNorm);
    assert.deepEqual(
      tensorSpecs(o2)
        .filter((s) => s.name.startsWith('model.layers.0.') && s.name.includes('norm'))
        .map((s) => `${s.name.slice(15)} [${s.shape.join(',')}]`),
      ['self_attn.q_norm.weight [64]', 'self_attn.k_norm.weight [32]', 'post_attention_layernorm.weight [64]', 'post_feedforward_layernorm.weight [64]'],
    );
    assert.equal(
      tensorSpecs(o).some((s) => s.name.includes('norm')),
      false,
      "OLMo's LayerNorms have no tensors",
    );
  });

  test("a from-scratch Gemma starts with norm gains 1: stored weights 0, as transformers' GemmaRMSNorm init", () => {
    const init = initArrays(parseHFConfig(gemmaOlmoConfigJson('gemma')), 1);
    for (const name of ['model.norm.weight', 'model.layers.1.input_layernorm.weight'])
      assert.ok(
        init.get(name)!.data.every((v) => v === 0),
        name,
      );
    const llamaInit = initArrays(parseHFConfig(gemmaOlmoConfigJson('olmo2')), 1);
    assert.ok(llamaInit.get('model.norm.weight')!.data.every((v) => v === 1));
  });

  const refusals: Array<[string, Json, RegExp]> = [
    ['Gemma with a ReLU MLP', gemmaOlmoConfigJson('gemma', { hidden_activation: 'relu' }), /hidden_activation = "relu" is not supported/],
    [
      'Gemma with hidden_act silu and no hidden_activation',
      gemmaOlmoConfigJson('gemma', { hidden_activation: null, hidden_act: 'silu' }),
      /hidden_act = "silu"/,
    ],
    ['Gemma with attention biases', gemmaOlmoConfigJson('gemma', { attention_bias: true }), /attention_bias = true/],
    ['Gemma with adaptive RMSNorm', gemmaOlmoConfigJson('gemma', { use_adarms: true }), /use_adarms = true/],
    [
      'Gemma 2 by architecture',
      gemmaOlmoConfigJson('gemma', { architectures: ['Gemma2ForCausalLM'] }),
      /architectures = \["Gemma2ForCausalLM"\].*Gemma 2 is a family/,
    ],
    [
      'Gemma 2 by model_type',
      { ...gemmaOlmoConfigJson('gemma'), architectures: undefined, model_type: 'gemma2' },
      /model_type = "gemma2".*Gemma 2 is a family/,
    ],
    ['Gemma 3 with vision', { ...gemmaOlmoConfigJson('gemma'), architectures: undefined, model_type: 'gemma3' }, /model_type = "gemma3".*Gemma 3 with vision/],
    ['Gemma 3 with attention soft-capping', gemmaOlmoConfigJson('gemma3_text', { attn_logit_softcapping: 50 }), /attn_logit_softcapping = 50/],
    ['Gemma 3 with final soft-capping', gemmaOlmoConfigJson('gemma3_text', { final_logit_softcapping: 30 }), /final_logit_softcapping = 30/],
    ['Gemma 3 bidirectional', gemmaOlmoConfigJson('gemma3_text', { use_bidirectional_attention: true }), /use_bidirectional_attention = true/],
    [
      'Gemma 3 with linear RoPE scaling',
      gemmaOlmoConfigJson('gemma3_text', { rope_scaling: { rope_type: 'linear', factor: 8 } }),
      /rope_scaling\.rope_type = "linear"/,
    ],
    [
      'Gemma 3 with a chunked layer',
      gemmaOlmoConfigJson('gemma3_text', { layer_types: ['sliding_attention', 'chunked_attention'] }),
      /layer_types\[1\] = "chunked_attention"/,
    ],
    ['OLMo with attention biases', gemmaOlmoConfigJson('olmo', { attention_bias: true }), /attention_bias = true/],
    ['OLMo with a negative clip_qkv', gemmaOlmoConfigJson('olmo', { clip_qkv: -1 }), /clip_qkv = -1/],
    ['OLMo with a GELU MLP', gemmaOlmoConfigJson('olmo', { hidden_act: 'gelu' }), /hidden_act = "gelu"/],
    ['OLMo2 with attention biases', gemmaOlmoConfigJson('olmo2', { attention_bias: true }), /attention_bias = true/],
    ['OLMo2 with YaRN RoPE', gemmaOlmoConfigJson('olmo2', { rope_scaling: { rope_type: 'yarn', factor: 2 } }), /rope_scaling\.rope_type = "yarn"/],
  ];
  for (const [label, raw, message] of refusals)
    test(`refused, naming the field: ${label}`, () => {
      assert.throws(
        () => parseHFConfig(raw, 'x/config.json'),
        (e: Error) => message.test(e.message) && e.message.startsWith('x/config.json: '),
      );
    });
});

/** The variants compared with the numpy reference: tied and untied heads, GQA, OLMo's clip active. */
const VARIANTS: Array<{ label: string; family: GemmaOlmo; extra: Json }> = [
  { label: 'Gemma, tied head', family: 'gemma', extra: { tie_word_embeddings: true } },
  { label: 'Gemma, untied head, head_dim 32 (heads x head_dim != hidden)', family: 'gemma', extra: { tie_word_embeddings: false, head_dim: 32 } },
  {
    label: 'Gemma 3 text, tied, layer 0 sliding (window 16) and layer 1 full, query_pre_attn_scalar 24',
    family: 'gemma3_text',
    extra: { tie_word_embeddings: true },
  },
  {
    label: 'Gemma 3 text, untied, both layers full',
    family: 'gemma3_text',
    extra: { tie_word_embeddings: false, layer_types: ['full_attention', 'full_attention'] },
  },
  { label: 'OLMo, tied head, clip_qkv 0.5', family: 'olmo', extra: { tie_word_embeddings: true, clip_qkv: 0.5 } },
  { label: 'OLMo, untied head, no clipping', family: 'olmo', extra: { tie_word_embeddings: false } },
  { label: 'OLMo2, untied head', family: 'olmo2', extra: { tie_word_embeddings: false } },
  { label: 'OLMo2, tied head', family: 'olmo2', extra: { tie_word_embeddings: true } },
];

describe('logits against the float64 numpy reference (transformers semantics)', () => {
  let probe: { ids: Int32Array; shape: [number, number] };
  before(async () => {
    const e = await expectedTensors('llama-shakespeare-h64-l2');
    probe = { ids: e.probeIds, shape: e.probeShape };
  });

  test('the reference reproduces the stored transformers Llama probe logits within 1e-4 (its shared parts are right)', { skip: noPython }, async () => {
    const e = await expectedTensors('llama-shakespeare-h64-l2');
    const ref = referenceLogits(python!, LLAMA_FIXTURE, probe.ids, probe.shape, tmp.dir);
    const d = maxDiff(ref, e.probeLogits);
    assert.ok(d <= 1e-4, `reference vs transformers: ${d}`);
  });

  for (const v of VARIANTS)
    test(`${v.label}: Scion's logits within 1e-4 of the reference`, { skip: noPython }, async () => {
      const raw = gemmaOlmoConfigJson(v.family, v.extra);
      const { config, arrays } = gemmaOlmoArrays(raw, llama);
      const dir = await writeModelDir(path.join(tmp.dir, v.label.replace(/\W+/g, '-')), raw, arrays);
      const ref = referenceLogits(python!, dir, probe.ids, probe.shape, tmp.dir);
      const got = await logitsOf(config, arrays, probe.ids, probe.shape);
      const d = maxDiff(got, ref);
      assert.ok(d <= 1e-4, `max |logit diff| ${d}`);
      const scale = maxDiff(ref, new Float32Array(ref.length));
      assert.ok(scale > 1, `logits of a real size (max |logit| ${scale})`);
      if (v.extra['clip_qkv'] !== undefined) {
        const unclipped = await logitsOf(parseHFConfig({ ...raw, clip_qkv: null }), arrays, probe.ids, probe.shape);
        assert.ok(maxDiff(unclipped, got) > 1e-2, 'clip_qkv 0.5 clips something');
      }
    });

  test('the family switches matter: each family differs from Llama on the same weights (> 1e-2)', async () => {
    const base = await logitsOf(
      parseHFConfig(gemmaOlmoConfigJson('olmo2', { model_type: 'llama', architectures: ['LlamaForCausalLM'] })),
      llama,
      probe.ids,
      probe.shape,
    );
    for (const family of GEMMA_OLMO) {
      const { config, arrays } = gemmaOlmoArrays(gemmaOlmoConfigJson(family, { tie_word_embeddings: false }), llama);
      assert.ok(maxDiff(await logitsOf(config, arrays, probe.ids, probe.shape), base) > 1e-2, family);
    }
  });
});

describe('export round trips and scion info', () => {
  for (const family of GEMMA_OLMO) {
    test(`${family}: a downloaded folder loads, exports with transformers' names, and reloads bit for bit`, async () => {
      const own: Json = { olmo: { clip_qkv: 4 }, gemma: { tie_word_embeddings: undefined }, gemma3_text: {}, olmo2: {} }[family];
      const raw = { ...gemmaOlmoConfigJson(family, own), initializer_range: 0.02 };
      const { config, arrays } = gemmaOlmoArrays(raw, llama);
      const dir = await writeModelDir(path.join(tmp.dir, `${family}-src`), raw, arrays);
      const out = path.join(tmp.dir, `${family}-export`);
      const written = await exportRoundTrip(dir, out, config, arrays);
      assert.deepEqual(written['architectures'], [ARCH[family]]);
      assert.equal(written['model_type'], family);
      assert.equal(written['initializer_range'], 0.02, 'fields Scion does not model survive');
      if (family === 'gemma') assert.equal(written['tie_word_embeddings'], true, "absent in the source: Gemma's default, tied, written out");
      if (family === 'gemma' || family === 'gemma3_text') {
        assert.equal(written['hidden_activation'], 'gelu_pytorch_tanh');
        assert.equal(written['hidden_act'], 'gelu_pytorch_tanh', 'both activation fields agree, for old and new transformers');
      } else assert.equal(written['hidden_act'], 'silu');
      if (family === 'gemma3_text') {
        assert.deepEqual(written['layer_types'], ['sliding_attention', 'full_attention']);
        assert.equal(written['query_pre_attn_scalar'], 24);
        assert.equal(written['rope_local_base_freq'], 1000);
        assert.equal(written['sliding_window'], 16);
      }
      if (family === 'olmo') {
        assert.equal(written['clip_qkv'], 4);
        assert.equal('rms_norm_eps' in written, false, 'OlmoConfig has no rms_norm_eps');
      }
      const info = await runCommand(main, ['info', out, '--json']);
      assert.equal(info.code, 0, info.stderr);
      const parsed = JSON.parse(info.stdout) as { family: string; parameters: number; headDim: number };
      assert.equal(parsed.family, family);
      assert.equal(
        parsed.parameters,
        [...arrays.values()].reduce((s, a) => s + a.length, 0),
      );
      assert.equal(parsed.parameters, parameterCount(config));
      const text = await runCommand(main, ['info', out]);
      const shown = { gemma: 'Gemma', gemma3_text: 'Gemma 3 \\(text\\)', olmo: 'OLMo', olmo2: 'OLMo 2' }[family];
      assert.match(text.stdout, new RegExp(`family: +${shown} \\(${family}\\)`));
    });
  }
});

describe('training on wasm', () => {
  for (const family of GEMMA_OLMO) {
    test(`${family}: every tensor gets a finite gradient, the norms' non-zero, and AdamW lowers the loss`, async () => {
      const { config, arrays } = gemmaOlmoArrays(gemmaOlmoConfigJson(family, family === 'olmo' ? { clip_qkv: 2 } : {}), llama, 5);
      await checkTrains(config, arrays, 512, /norm\.weight$|_proj\.weight$/);
    });
  }
});
