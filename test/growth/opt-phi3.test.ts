/**
 * Growth of OPT and Phi-3 (the hand-built checkpoints of test/fixtures/numpy-families, whose
 * forward matches a numpy reference): the exact operators keep the source's function (logits
 * within 1e-4 + 1e-4 |logit|, loss to 1e-5, 4 windows of 32 tokens) for pre-LN and post-LN
 * OPT (with and without project_in / project_out, tied and untied heads) and for Phi-3's
 * fused projections with partial rotary and a sliding window; what cannot be exact says so or
 * is refused; two negative controls must fail: Phi-3's fused qkv_proj tiled as one axis, and
 * a post-LN OPT's tied head without the 1/n on the last block's final_layer_norm.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { type CheckWindows, type GrowOptions, makePlan } from '../../electron/engine/growth/index.ts';
import { tileMap } from '../../electron/engine/growth/axis.ts';
import { toHFConfig } from '../../electron/engine/models/config.ts';
import { mapMatrix } from '../../electron/engine/growth/primitives.ts';
import { type NumpyModel, numpyModelDir } from '../helpers/numpy-families.ts';
import { runScion } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { checkGrown, growPlanInMemory, readArrays, useWasm } from './helpers.ts';

before(useWasm);

/** 4 windows of 32 tokens (the models' context) from a fixed pseudo-random stream over their 96-token vocabulary. */
const WINDOWS: CheckWindows = {
  ids: Int32Array.from({ length: 4 * 32 }, (_, i) => (i * 37 + ((i * i) % 11) * 13 + 5) % 96),
  count: 4,
  length: 32,
  origin: 'test windows',
};

const CASES: Array<{ label: string; opts: GrowOptions; zero?: boolean; models: NumpyModel[] }> = [
  {
    label: 'hypercloning x2',
    opts: { method: 'hypercloning', widthMult: 2 },
    models: ['opt-pre-tied', 'opt-post-proj', 'opt-plain-untied', 'phi3-gqa-partial-w6', 'phi3-full-tied'],
  },
  {
    label: 'hypercloning x3, ffn x2, 20 dB noise',
    opts: { method: 'hypercloning', widthMult: 3, ffnMult: 2, noiseDb: 20, seed: 5 },
    models: ['opt-pre-tied', 'opt-post-proj', 'phi3-gqa-partial-w6'],
  },
  { label: 'mlp-zero ffn 100', opts: { method: 'mlp-zero', ffn: 100 }, zero: true, models: ['opt-post-proj', 'phi3-gqa-partial-w6'] },
  { label: 'net2net MLP only', opts: { method: 'net2net', ffn: 100, seed: 3 }, models: ['opt-pre-tied', 'opt-post-proj', 'phi3-gqa-partial-w6'] },
  {
    label: 'identity block after block 1',
    opts: { method: 'identity', layers: 3, insertAt: [1] },
    zero: true,
    models: ['opt-pre-tied', 'phi3-gqa-partial-w6'],
  },
  { label: 'zero-pad hidden 48 (RMSNorm)', opts: { method: 'zero-pad', hidden: 48, heads: 6, kvHeads: 3 }, models: ['phi3-gqa-partial-w6'] },
  { label: 'add-heads 8 (4 KV)', opts: { method: 'add-heads', heads: 8, kvHeads: 4 }, zero: true, models: ['phi3-gqa-partial-w6'] },
];

for (const c of CASES)
  for (const name of c.models)
    test(`${name}: ${c.label} is exact`, async () => {
      const src = await readArrays(numpyModelDir(name));
      const plan = makePlan(src.config, c.opts);
      assert.equal(plan.theory.verdict, 'exact');
      assert.equal(plan.target.family, src.config.family);
      const r = await checkGrown(src, plan.target, await growPlanInMemory(src.arrays, plan), WINDOWS);
      assert.ok(r.withinExactTolerance, `max |dlogit| ${r.maxAbsLogitDiff}, ratio ${r.worstToleranceRatio}`);
      assert.ok(Math.abs(r.lossGrown - r.lossSource) <= 1e-5, `dloss ${r.lossGrown - r.lossSource}`);
      if (c.zero) assert.equal(r.maxAbsLogitDiff, 0);
    });

test("OPT growth: the 350M's projection axis keeps its size, zero pad is approximate (LayerNorm), identity blocks under post-LN and add-heads are refused", async () => {
  const post = (await readArrays(numpyModelDir('opt-post-proj'))).config;
  const grown = makePlan(post, { method: 'hypercloning', widthMult: 2 }).target;
  assert.ok(grown.family === 'opt' && grown.hiddenSize === 64 && grown.wordEmbedProjDim === 24 && !grown.doLayerNormBefore);
  assert.equal(toHFConfig(grown, { d_model: 32 })['d_model'], 64, "an older config's d_model follows the grown hidden size");
  const pre = (await readArrays(numpyModelDir('opt-pre-tied'))).config;
  const pg = makePlan(pre, { method: 'hypercloning', widthMult: 2 }).target;
  assert.ok(pg.family === 'opt' && pg.wordEmbedProjDim === 64, 'without projections word_embed_proj_dim is the hidden size');
  assert.equal(makePlan(pre, { method: 'zero-pad', hidden: 48 }).theory.verdict, 'approximate');
  assert.throws(() => makePlan(post, { method: 'identity', layers: 3 }), /identity blocks cannot keep the function of a post-LN OPT/);
  assert.throws(() => makePlan(post, { method: 'hypercloning', widthMult: 2, layers: 3, depth: 'identity' }), /post-LN OPT/);
  assert.throws(() => makePlan(pre, { method: 'add-heads', heads: 8 }), /add-heads cannot grow OPT/);
  const odd = { ...post, hiddenSize: 16, numAttentionHeads: 2, wordEmbedProjDim: 32 };
  assert.throws(() => makePlan(odd, { method: 'hypercloning', widthMult: 2 }), /hidden 32 equals word_embed_proj_dim/);
});

test("negative control fails the exactness check: Phi-3's fused qkv_proj tiled as one axis ([q k v q k v]) instead of part by part", async () => {
  const src = await readArrays(numpyModelDir('phi3-gqa-partial-w6'));
  const plan = makePlan(src.config, { method: 'hypercloning', widthMult: 2 });
  const grown = await growPlanInMemory(src.arrays, plan);
  const fused = plan.maps.q.sourceSize + 2 * plan.maps.kv.sourceSize; // 64 rows
  for (const [name] of grown)
    if (name.endsWith('qkv_proj.weight'))
      grown.set(name, mapMatrix(src.arrays.get(name)!, { rows: tileMap(fused, 2, 'internal'), cols: plan.maps.hidden, inAxis: 'cols' }));
  const r = await checkGrown(src, plan.target, grown, WINDOWS);
  assert.equal(r.withinExactTolerance, false);
  assert.ok(r.maxAbsLogitDiff > 1e-2, `max |dlogit| only ${r.maxAbsLogitDiff}`);
});

test("negative control fails the exactness check: a post-LN OPT with a tied head grown without the 1/n on the last block's final_layer_norm", async () => {
  const src = await readArrays(numpyModelDir('opt-pre-tied'));
  const postTied = { ...src.config, doLayerNormBefore: false };
  const arrays = new Map([...src.arrays].filter(([n]) => !n.startsWith('model.decoder.final_layer_norm.')));
  const source = { config: postTied, arrays };
  const plan = makePlan(postTied, { method: 'hypercloning', widthMult: 2 });
  const right = await checkGrown(source, plan.target, await growPlanInMemory(arrays, plan), WINDOWS);
  assert.ok(right.withinExactTolerance, `the rule itself is exact: max |dlogit| ${right.maxAbsLogitDiff}`);
  const wrong = await checkGrown(source, plan.target, await growPlanInMemory(arrays, { ...plan, tiedHeadRescale: false }), WINDOWS);
  assert.equal(wrong.withinExactTolerance, false);
  assert.ok(wrong.maxAbsLogitDiff > 1e-2, `max |dlogit| only ${wrong.maxAbsLogitDiff}`);
});

test('the real CLI: scion grow a post-LN OPT-350M-shaped folder with HyperCloning x2 (exact, loads as OPT with its projections); identity blocks refused before writing', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const out = path.join(tmp.dir, 'opt-x2');
  const r = runScion(['grow', numpyModelDir('opt-post-proj'), '--out', out, '--method', 'hypercloning', '--width-mult', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim()) as { verdict: string; max_abs_logit_diff: number };
  assert.equal(j.verdict, 'exact');
  const written = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(
    [written['architectures'], written['hidden_size'], written['word_embed_proj_dim'], written['do_layer_norm_before']],
    [['OPTForCausalLM'], 64, 24, false],
  );
  const info = runScion(['info', out, '--json']);
  assert.equal((JSON.parse(info.stdout) as { family: string }).family, 'opt');
  const refused = path.join(tmp.dir, 'opt-deeper');
  const bad = runScion(['grow', numpyModelDir('opt-post-proj'), '--out', refused, '--method', 'identity', '--layers', '3']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /identity blocks cannot keep the function of a post-LN OPT \(do_layer_norm_before false\)/);
  assert.equal(existsSync(refused), false);
});
