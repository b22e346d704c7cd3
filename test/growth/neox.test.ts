/**
 * Growth of GPT-NeoX (Pythia-shaped, made by Scion): the exact operators keep the source's
 * function (logits within 1e-4 + 1e-4 |logit|, loss to 1e-5, 4 windows of 128 tokens), for
 * the parallel and the sequential residual; zero pad of the hidden size is approximate under
 * LayerNorm and says so; the fused per-head q/k/v tiled as GPT-2's [q | k | v] must fail.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type GrowOptions, makePlan } from '../../electron/engine/growth/index.ts';
import { concatMaps } from '../../electron/engine/growth/axis.ts';
import { mapMatrix, mapVector } from '../../electron/engine/growth/primitives.ts';
import { LLAMA_FIXTURE } from '../helpers/family-models.ts';
import { neoxArrays, neoxConfigJson } from '../helpers/neox-model.ts';
import { checkGrown, growPlanInMemory, useWasm } from './helpers.ts';

before(useWasm);

const CASES: Array<{ label: string; opts: GrowOptions; zero?: boolean }> = [
  { label: 'hypercloning x2', opts: { method: 'hypercloning', widthMult: 2 } },
  { label: 'hypercloning x3, ffn x2, 20 dB noise', opts: { method: 'hypercloning', widthMult: 3, ffnMult: 2, noiseDb: 20, seed: 5 } },
  { label: 'mlp-zero ffn 300', opts: { method: 'mlp-zero', ffn: 300 }, zero: true },
  { label: 'net2net MLP only', opts: { method: 'net2net', ffn: 384, seed: 3 } },
  { label: 'identity block inserted after block 1', opts: { method: 'identity', layers: 3, insertAt: [1] }, zero: true },
];

for (const parallel of [true, false])
  for (const c of CASES)
    test(`GPT-NeoX (${parallel ? 'parallel' : 'sequential'} residual): ${c.label} is exact`, async () => {
      const src = neoxArrays(neoxConfigJson({ use_parallel_residual: parallel }));
      const plan = makePlan(src.config, c.opts);
      assert.equal(plan.theory.verdict, 'exact');
      assert.equal(plan.target.family, 'gpt_neox');
      const r = await checkGrown(src, plan.target, await growPlanInMemory(src.arrays, plan), LLAMA_FIXTURE);
      assert.ok(r.withinExactTolerance, `max |dlogit| ${r.maxAbsLogitDiff}, ratio ${r.worstToleranceRatio}`);
      assert.ok(Math.abs(r.lossGrown - r.lossSource) <= 1e-5);
      if (c.zero) assert.equal(r.maxAbsLogitDiff, 0);
    });

test('GPT-NeoX zero pad of the hidden size is reported approximate (LayerNorm), and add-heads is refused naming the family', () => {
  const src = neoxArrays(neoxConfigJson());
  assert.equal(makePlan(src.config, { method: 'zero-pad', hidden: 128 }).theory.verdict, 'approximate');
  assert.throws(() => makePlan(src.config, { method: 'add-heads', heads: 8 }), /add-heads cannot grow GPT-NeoX \/ Pythia/);
  assert.throws(() => makePlan(src.config, { method: 'hypercloning', heads: 8 }), /head_dim/);
});

test('negative control fails the exactness check: fused query_key_value grown as [q | k | v] (GPT-2 layout) instead of per head', async () => {
  const src = neoxArrays(neoxConfigJson());
  const plan = makePlan(src.config, { method: 'hypercloning', widthMult: 2 });
  const grown = await growPlanInMemory(src.arrays, plan);
  const wrong = concatMaps([plan.maps.q, plan.maps.q, plan.maps.q]);
  for (const [name] of grown) {
    if (name.endsWith('query_key_value.weight')) grown.set(name, mapMatrix(src.arrays.get(name)!, { rows: wrong, cols: plan.maps.hidden, inAxis: 'cols' }));
    if (name.endsWith('query_key_value.bias')) grown.set(name, mapVector(src.arrays.get(name)!, wrong));
  }
  const r = await checkGrown(src, plan.target, grown, LLAMA_FIXTURE);
  assert.equal(r.withinExactTolerance, false);
  assert.ok(r.maxAbsLogitDiff > 1e-2, `max |dlogit| only ${r.maxAbsLogitDiff}`);
});
