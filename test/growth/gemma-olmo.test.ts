/**
 * Growth of Gemma, OLMo and OLMo2 (made by Scion: the Llama fixture's trained weights under
 * each family's config, test/helpers/gemma-olmo-models.ts): the operators the theory calls
 * exact keep the source's function (logits within 1e-4 + 1e-4 |logit|, loss to 1e-5 on 4
 * reference windows of 128 tokens), HyperCloning x2 included, with tied and untied heads;
 * where the family makes an operator approximate (OLMo's weightless LayerNorm under zero pad,
 * OLMo2's full-width q/k norm with added heads) the plan says so and the check agrees; the
 * grown folder keeps its family and reloads; one negative control per family fails.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type GrowOptions, type GrowthPlan, makePlan } from '../../electron/engine/growth/index.ts';
import { type ModelConfig, isLlamaShaped } from '../../electron/engine/models/config.ts';
import { LLAMA_FIXTURE, type Json } from '../helpers/family-models.ts';
import { type GemmaOlmo, gemmaOlmoArrays, gemmaOlmoConfigJson } from '../helpers/gemma-olmo-models.ts';
import { tempDir } from '../helpers/tmp.ts';
import { findTorchPython } from '../handoff/python.ts';
import { referenceLogits } from '../helpers/decoder-reference.ts';
import { expectedTensors } from '../helpers/fixtures.ts';
import { maxDiff } from '../helpers/logits.ts';
import { checkGrown, growFolderX2, growPlanInMemory, readArrays, scaleTensors, useWasm } from './helpers.ts';

type Arrays = Map<string, Float32Array>;
const { python, skip: noPython } = findTorchPython();

const SOURCES: Record<string, { family: GemmaOlmo; raw: Json }> = {
  'gemma tied': { family: 'gemma', raw: gemmaOlmoConfigJson('gemma', { tie_word_embeddings: true }) },
  'gemma untied': { family: 'gemma', raw: gemmaOlmoConfigJson('gemma', { tie_word_embeddings: false }) },
  'gemma3 tied': { family: 'gemma3_text', raw: gemmaOlmoConfigJson('gemma3_text', { tie_word_embeddings: true }) },
  'olmo tied': { family: 'olmo', raw: gemmaOlmoConfigJson('olmo', { tie_word_embeddings: true }) },
  'olmo untied, clip_qkv 2': { family: 'olmo', raw: gemmaOlmoConfigJson('olmo', { tie_word_embeddings: false, clip_qkv: 2 }) },
  'olmo2 untied': { family: 'olmo2', raw: gemmaOlmoConfigJson('olmo2', { tie_word_embeddings: false }) },
  'olmo2 tied': { family: 'olmo2', raw: gemmaOlmoConfigJson('olmo2', { tie_word_embeddings: true }) },
};

type Expect = 'exact' | 'zero' | 'approximate';
/** Each case and what it does per family: exact, exactly zero change, or approximate (the plan says so and the check sees it). */
const CASES: Array<{ label: string; opts: GrowOptions; expect: Record<GemmaOlmo, Expect> }> = [
  { label: 'hypercloning x2', opts: { method: 'hypercloning', widthMult: 2 }, expect: { gemma: 'exact', gemma3_text: 'exact', olmo: 'exact', olmo2: 'exact' } },
  {
    label: 'hypercloning x3, 10 dB noise',
    opts: { method: 'hypercloning', widthMult: 3, noiseDb: 10, seed: 2 },
    expect: { gemma: 'exact', gemma3_text: 'exact', olmo: 'exact', olmo2: 'exact' },
  },
  {
    label: 'hypercloning heads only x2',
    opts: { method: 'hypercloning', heads: 8 },
    expect: { gemma: 'exact', gemma3_text: 'exact', olmo: 'exact', olmo2: 'exact' },
  },
  {
    label: 'zero-pad hidden 128 (heads kept)',
    opts: { method: 'zero-pad', hidden: 128, heads: 4 },
    expect: { gemma: 'exact', gemma3_text: 'exact', olmo: 'approximate', olmo2: 'approximate' },
  },
  {
    label: 'zero-pad hidden 128, heads 8, ffn 300',
    opts: { method: 'zero-pad', hidden: 128, heads: 8, ffn: 300 },
    expect: { gemma: 'exact', gemma3_text: 'exact', olmo: 'approximate', olmo2: 'approximate' },
  },
  { label: 'add-heads 8', opts: { method: 'add-heads', heads: 8 }, expect: { gemma: 'zero', gemma3_text: 'zero', olmo: 'zero', olmo2: 'approximate' } },
  { label: 'mlp-zero ffn 200', opts: { method: 'mlp-zero', ffn: 200 }, expect: { gemma: 'zero', gemma3_text: 'zero', olmo: 'zero', olmo2: 'zero' } },
  { label: 'net2net MLP 200', opts: { method: 'net2net', ffn: 200, seed: 4 }, expect: { gemma: 'exact', gemma3_text: 'exact', olmo: 'exact', olmo2: 'exact' } },
  {
    label: 'net2net heads 16',
    opts: { method: 'net2net', heads: 16, seed: 4 },
    expect: { gemma: 'exact', gemma3_text: 'exact', olmo: 'exact', olmo2: 'approximate' },
  },
  {
    label: 'identity blocks at 0 and 2',
    opts: { method: 'identity', layers: 4, insertAt: [0, 2] },
    expect: { gemma: 'zero', gemma3_text: 'zero', olmo: 'zero', olmo2: 'zero' },
  },
];

let llama: Arrays;
before(async () => {
  await useWasm();
  llama = (await readArrays(LLAMA_FIXTURE)).arrays;
});

function source(name: string): { config: ModelConfig; arrays: Arrays } {
  return gemmaOlmoArrays(SOURCES[name]!.raw, llama);
}

for (const name of Object.keys(SOURCES)) {
  const family = SOURCES[name]!.family;
  describe(`growth of a ${name} model`, () => {
    for (const c of CASES) {
      const expect = c.expect[family];
      test(`${c.label}: ${expect}`, async () => {
        const src = source(name);
        const before = tf.memory().numTensors;
        const plan = makePlan(src.config, c.opts);
        assert.equal(plan.theory.verdict, expect === 'zero' ? 'exact' : expect, plan.theory.why);
        assert.equal(plan.target.family, family);
        const r = await checkGrown(src, plan.target, await growPlanInMemory(src.arrays, plan), LLAMA_FIXTURE);
        assert.equal(r.length, 128);
        if (expect === 'approximate')
          assert.equal(r.withinExactTolerance, false, `called approximate, and the check sees it: max |dlogit| ${r.maxAbsLogitDiff}`);
        else {
          assert.ok(r.withinExactTolerance, `max |dlogit| ${r.maxAbsLogitDiff}, ratio ${r.worstToleranceRatio}, loss ${r.lossSource} vs ${r.lossGrown}`);
          assert.ok(Math.abs(r.lossGrown - r.lossSource) <= 1e-5, `dloss ${Math.abs(r.lossGrown - r.lossSource)}`);
        }
        if (expect === 'zero') assert.equal(r.maxAbsLogitDiff, 0, 'zero fan-out / identity blocks must give exactly 0');
        assert.equal(tf.memory().numTensors, before, 'tensor leak');
      });
    }
  });
}

describe('HyperCloning x2 of a model folder keeps its family', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  for (const name of ['gemma tied', 'gemma3 tied', 'olmo tied', 'olmo2 untied']) {
    const family = SOURCES[name]!.family;
    test(`${name}: scion's grow writes a ${family} folder that reloads and checks exact`, async () => {
      const src = source(name);
      const { report, written, grown } = await growFolderX2(tmp.dir, family, SOURCES[name]!.raw, src.arrays);
      const embed = 'model.embed_tokens.weight';
      const e = grown.arrays.get(embed)!;
      const s = src.arrays.get(embed)!;
      if (family === 'gemma' || family === 'gemma3_text') {
        // x sqrt(128) of the grown embedding equals x sqrt(64) of the source's
        assert.ok(Math.abs(e[0]! * Math.fround(Math.sqrt(128)) - s[0]! * 8) < 1e-6, 'embedding rescaled by sqrt(d/D)');
        const n0 = src.arrays.get('model.norm.weight')![0]!;
        const g0 = grown.arrays.get('model.norm.weight')![0]!;
        assert.ok(Math.abs(1 + g0 - (1 + n0) / Math.SQRT2) < 1e-6, 'tied final gain (1 + w) / sqrt(2): the 1/2 of the copies times the embedding rescale');
        assert.equal(written['tie_word_embeddings'], true);
      } else assert.equal(e[64 + 3], s[3], 'embedding tiled unscaled');
      if (family === 'olmo') {
        assert.equal(written['tie_word_embeddings'], false, 'a tied OLMo head is untied by HyperCloning');
        assert.match(report.theory.why, /tied head is untied/);
        const head = grown.arrays.get('lm_head.weight')!;
        assert.equal(head[64 + 5], s[5]! / 2, 'lm_head = the tiled embedding with fan-in 1/2');
      }
      if (family === 'olmo2') {
        const q = grown.arrays.get('model.layers.1.self_attn.q_norm.weight')!;
        const qs = src.arrays.get('model.layers.1.self_attn.q_norm.weight')!;
        assert.deepEqual(q, Float32Array.from([...qs, ...qs]), 'q norm tiled with the heads, unscaled');
      }
    });

    test(
      `${name}: the numpy reference (transformers semantics) reads the grown folder's config.json and tensors as the source's function`,
      { skip: noPython },
      async () => {
        const work = path.join(tmp.dir, `ref-${family}`);
        await mkdir(work, { recursive: true });
        const { source: srcDir, out } = await growFolderX2(work, family, SOURCES[name]!.raw, source(name).arrays);
        const e = await expectedTensors('llama-shakespeare-h64-l2');
        const before = referenceLogits(python!, srcDir, e.probeIds, e.probeShape, work);
        const after = referenceLogits(python!, out, e.probeIds, e.probeShape, work);
        const d = maxDiff(before, after);
        assert.ok(d <= 1e-4, `grown vs source under the reference: max |dlogit| ${d}`);
      },
    );
  }
});

const setTarget = (p: GrowthPlan, change: (t: ModelConfig) => ModelConfig): GrowthPlan => ({ ...p, target: change(p.target) });

/** Plausible wrong implementations; each must FAIL the exactness check (proof that it can fail). */
const CONTROLS: Array<{
  label: string;
  source: string;
  opts: GrowOptions;
  plan?: (p: GrowthPlan) => GrowthPlan;
  tensors?: (p: GrowthPlan, grown: Arrays, src: Arrays) => void;
}> = [
  {
    // The sqrt(hidden) scale grows with the width: an embedding copied as is enters the stream sqrt(2) too large.
    label: 'Gemma embedding tiled without the sqrt(d/D) rescale',
    source: 'gemma untied',
    opts: { method: 'hypercloning', widthMult: 2 },
    plan: (p) => ({ ...p, embedScale: 1 }),
  },
  {
    // Llama's rule applied to Gemma's stored weight: w x sqrt(d/D) instead of (1 + w) x sqrt(d/D) - 1.
    label: 'Gemma norm weights rescaled as stored (Llama rule) instead of as 1 + weight',
    source: 'gemma untied',
    opts: { method: 'zero-pad', hidden: 128, heads: 4 },
    tensors: (p, grown, src) => {
      for (const [name, a] of grown)
        if (name.endsWith('layernorm.weight')) {
          const w = src.get(name)!;
          grown.set(
            name,
            a.map((v, j) => (j < w.length ? w[j]! * p.rmsGainScale : v)),
          );
        }
    },
  },
  {
    // Gemma 3's layer types are a per-block property: re-applying the sliding/full pattern by position after an inserted block moves it.
    label: 'Gemma 3 layer types by position after an identity block, not following their source blocks',
    source: 'gemma3 tied',
    opts: { method: 'identity', layers: 3, insertAt: [0] },
    plan: (p) => setTarget(p, (t) => (isLlamaShaped(t) ? { ...t, slidingLayers: [true, false, true] } : t)),
  },
  {
    // A tied head behind a weightless LayerNorm, kept tied: the tiled embedding counts each logit twice.
    label: 'OLMo tied head kept tied under HyperCloning',
    source: 'olmo tied',
    opts: { method: 'hypercloning', widthMult: 2 },
    plan: (p) => setTarget({ ...p, untieHead: false }, (t) => (isLlamaShaped(t) ? { ...t, tieWordEmbeddings: true } : t)),
  },
  {
    // The full-width q/k norm sees n copies of the same q: its RMS is unchanged, so a zero-pad-style rescale is wrong.
    label: 'OLMo2 q/k norm gains rescaled by sqrt(1/n) as if the new heads were zeros',
    source: 'olmo2 untied',
    opts: { method: 'hypercloning', widthMult: 2 },
    tensors: (_p, grown) => scaleTensors(grown, /self_attn\.[qk]_norm\.weight$/, Math.SQRT1_2),
  },
];

for (const c of CONTROLS) {
  test(`negative control fails the exactness check: ${c.label}`, async () => {
    const src = source(c.source);
    const right = makePlan(src.config, c.opts);
    assert.equal(right.theory.verdict, 'exact');
    const plan = (c.plan ?? ((p) => p))(right);
    const grown = await growPlanInMemory(src.arrays, plan);
    c.tensors?.(plan, grown, src.arrays);
    const r = await checkGrown(src, plan.target, grown, LLAMA_FIXTURE);
    assert.equal(r.withinExactTolerance, false);
    assert.equal(r.verdict, 'changes the function');
    assert.ok(r.maxAbsLogitDiff > 1e-2, `max |dlogit| only ${r.maxAbsLogitDiff}`);
  });
}
