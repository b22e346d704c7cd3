/**
 * Growth of the Llama-shaped families (Qwen2, Qwen3, Mistral): the exact operators keep the
 * source's function (logits within 1e-4 + 1e-4 |logit|, loss to 1e-5 on 4 reference windows
 * of 128 tokens), HyperCloning x2 included; the grown folder keeps its family and reloads;
 * one negative control per family fails. The sources are made by Scion (the Llama fixture's
 * trained weights with each family's own tensors drawn: Qwen2 biases, Qwen3 q/k norm gains,
 * a Mistral window of 16 < 128): exactness relative to the source, not a transformers claim.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type GrowOptions, type GrowthPlan, makePlan } from '../../electron/engine/growth/index.ts';
import type { ModelConfig } from '../../electron/engine/models/config.ts';
import { mapVector } from '../../electron/engine/growth/primitives.ts';
import { LLAMA_FIXTURE, type Json, type LlamaShaped, familyArrays, familyConfigJson } from '../helpers/family-models.ts';
import { tempDir } from '../helpers/tmp.ts';
import { checkGrown, growFolderX2, growPlanInMemory, readArrays, scaleTensors, useWasm } from './helpers.ts';

type Arrays = Map<string, Float32Array>;

const SOURCES: Record<Exclude<LlamaShaped, 'llama'>, { raw: Json; biasStd?: number; normJitter?: number }> = {
  qwen2: { raw: familyConfigJson('qwen2'), biasStd: 0.3 },
  qwen3: { raw: familyConfigJson('qwen3'), normJitter: 0.2 },
  mistral: { raw: familyConfigJson('mistral', { sliding_window: 16 }) },
};

const CASES: Array<{ label: string; opts: GrowOptions; zero?: boolean }> = [
  { label: 'hypercloning x2', opts: { method: 'hypercloning', widthMult: 2 } },
  { label: 'hypercloning x3, 10 dB noise', opts: { method: 'hypercloning', widthMult: 3, noiseDb: 10, seed: 2 } },
  { label: 'hypercloning heads only x2', opts: { method: 'hypercloning', heads: 8 } },
  { label: 'zero-pad hidden 128, heads 8, ffn 300', opts: { method: 'zero-pad', hidden: 128, heads: 8, ffn: 300 } },
  { label: 'add-heads 8', opts: { method: 'add-heads', heads: 8 }, zero: true },
  { label: 'mlp-zero ffn 200', opts: { method: 'mlp-zero', ffn: 200 }, zero: true },
  { label: 'net2net MLP 200 + heads 16', opts: { method: 'net2net', ffn: 200, heads: 16, seed: 4 } },
  { label: 'identity blocks at 0 and 2', opts: { method: 'identity', layers: 4, insertAt: [0, 2] }, zero: true },
];

let llama: Arrays;
before(async () => {
  await useWasm();
  llama = (await readArrays(LLAMA_FIXTURE)).arrays;
});

function source(family: keyof typeof SOURCES): { config: ModelConfig; arrays: Arrays } {
  const s = SOURCES[family];
  return familyArrays(s.raw, llama, { biasStd: s.biasStd ?? 0, normJitter: s.normJitter ?? 0 });
}

for (const family of Object.keys(SOURCES) as Array<keyof typeof SOURCES>) {
  describe(`exact growth of a ${family} model`, () => {
    for (const c of CASES) {
      test(c.label, async () => {
        const src = source(family);
        const before = tf.memory().numTensors;
        const plan = makePlan(src.config, c.opts);
        assert.equal(plan.theory.verdict, 'exact', plan.theory.why);
        assert.equal(plan.target.family, family);
        const r = await checkGrown(src, plan.target, await growPlanInMemory(src.arrays, plan), LLAMA_FIXTURE);
        assert.equal(r.length, 128);
        assert.ok(r.withinExactTolerance, `max |dlogit| ${r.maxAbsLogitDiff}, ratio ${r.worstToleranceRatio}, loss ${r.lossSource} vs ${r.lossGrown}`);
        assert.ok(Math.abs(r.lossGrown - r.lossSource) <= 1e-5, `dloss ${Math.abs(r.lossGrown - r.lossSource)}`);
        if (c.zero) assert.equal(r.maxAbsLogitDiff, 0, 'zero fan-out / identity blocks must give exactly 0');
        assert.equal(tf.memory().numTensors, before, 'tensor leak');
      });
    }
  });
}

describe('HyperCloning x2 of a model folder keeps its family', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  for (const family of Object.keys(SOURCES) as Array<keyof typeof SOURCES>) {
    test(`${family}: scion's grow writes a ${family} folder that reloads and checks exact`, async () => {
      const src = source(family);
      const { written, grown } = await growFolderX2(tmp.dir, family, SOURCES[family].raw, src.arrays);
      if (family === 'mistral') assert.equal(written['sliding_window'], 16);
      if (family === 'qwen3')
        assert.deepEqual(grown.arrays.get('model.layers.1.self_attn.k_norm.weight'), src.arrays.get('model.layers.1.self_attn.k_norm.weight'));
      if (family === 'qwen2') {
        const b = grown.arrays.get('model.layers.0.self_attn.q_proj.bias')!;
        const s = src.arrays.get('model.layers.0.self_attn.q_proj.bias')!;
        assert.deepEqual(b, Float32Array.from([...s, ...s]), 'q bias: the heads copied, unscaled');
      }
    });
  }
});

/** Plausible wrong implementations; each must FAIL the exactness check (proof that it can fail). */
const CONTROLS: Array<{
  label: string;
  family: keyof typeof SOURCES;
  opts: GrowOptions;
  plan?: (p: GrowthPlan) => GrowthPlan;
  tensors?: (p: GrowthPlan, grown: Arrays) => void;
}> = [
  {
    // A bias is an output, not a fan-in: dividing it by n like the tiled weights is wrong.
    label: 'Qwen2 q/k/v biases scaled 1/n like the tiled weights',
    family: 'qwen2',
    opts: { method: 'hypercloning', widthMult: 2 },
    tensors: (p, grown) => scaleTensors(grown, /_proj\.bias$/, p.sourceDims.hidden / p.targetDims.hidden),
  },
  {
    // Under zero pad the residual RMSNorm gains take sqrt(d/D); the per-head q/k norms must not (head_dim is unchanged).
    label: 'Qwen3 q/k norm gains rescaled by sqrt(d/D) like the residual norms',
    family: 'qwen3',
    opts: { method: 'zero-pad', hidden: 128 },
    tensors: (p, grown) => scaleTensors(grown, /self_attn\.[qk]_norm\.weight$/, p.rmsGainScale),
  },
  {
    // The q/k norm gains treated as hidden-sized vectors: tiled over the heads and cut back to head_dim, they land shifted.
    label: 'Qwen3 q norm gains read through the hidden map',
    family: 'qwen3',
    opts: { method: 'hypercloning', widthMult: 2 },
    tensors: (p, grown) => {
      for (const [name] of grown)
        if (/self_attn\.q_norm\.weight$/.test(name)) {
          const hd = p.sourceDims.headDim;
          const src = source('qwen3').arrays.get(name)!;
          const widened = mapVector(
            Float32Array.from({ length: p.sourceDims.hidden }, (_, j) => src[j % hd]!),
            p.maps.hidden,
          );
          grown.set(name, widened.slice(hd / 2, hd / 2 + hd));
        }
    },
  },
  {
    label: 'Mistral grown without its sliding window',
    family: 'mistral',
    opts: { method: 'hypercloning', widthMult: 2 },
    plan: (p) => {
      if (p.target.family !== 'mistral') throw new Error('a Mistral control');
      const target = { ...p.target };
      delete target.slidingWindow;
      return { ...p, target };
    },
  },
];

for (const c of CONTROLS) {
  test(`negative control fails the exactness check: ${c.label}`, async () => {
    const src = source(c.family);
    const plan = (c.plan ?? ((p) => p))(makePlan(src.config, c.opts));
    const grown = await growPlanInMemory(src.arrays, plan);
    c.tensors?.(plan, grown);
    const right = await growPlanInMemory(src.arrays, makePlan(src.config, c.opts));
    assert.ok([...grown].some(([n, a]) => a.some((v, i) => v !== right.get(n)![i])) || c.plan !== undefined, 'the control differs from the correct operator');
    const r = await checkGrown(src, plan.target, grown, LLAMA_FIXTURE);
    assert.equal(r.withinExactTolerance, false);
    assert.equal(r.verdict, 'changes the function');
    assert.ok(r.maxAbsLogitDiff > 1e-2, `max |dlogit| only ${r.maxAbsLogitDiff}`);
  });
}
