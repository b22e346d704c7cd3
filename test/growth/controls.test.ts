/**
 * Negative controls from the catalogue: each is a plausible-looking wrong implementation of an
 * exact operator, and each must FAIL the exactness check (proof that the check can fail). The
 * wrong variants live here, in the test, built from the correct plan: production code has none.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type GrowOptions, type GrowthPlan, checkFunctionPreservation, growPlanArrays, makePlan } from '../../electron/engine/growth/index.ts';
import { headsToUnits, tileMap } from '../../electron/engine/growth/axis.ts';
import { mapMatrix, mapVector } from '../../electron/engine/growth/primitives.ts';
import { disposeAll, evalWindows, fixture, readArrays, toParams, useWasm } from './helpers.ts';

before(useWasm);

type Arrays = Map<string, Float32Array>;
interface Control {
  label: string;
  model: string;
  opts: GrowOptions;
  /** Makes the correct plan wrong (before growing). */
  plan?: (p: GrowthPlan) => GrowthPlan;
  /** Replaces grown tensors with wrong ones (after growing). */
  tensors?: (p: GrowthPlan, source: Arrays, grown: Arrays) => void;
}

const CONTROLS: Control[] = [
  {
    // GPT-2's fused c_attn = [q | k | v] tiled as one block: k and v columns land in q's place.
    label: 'fused q/k/v tiled as one block',
    model: 'gpt2-shakespeare-d64-l2',
    opts: { method: 'hypercloning', widthMult: 2 },
    tensors: (p, source, grown) => {
      const fused = tileMap(3 * p.sourceDims.hidden, p.targetDims.hidden / p.sourceDims.hidden, 'internal');
      for (const name of grown.keys()) {
        if (name.endsWith('attn.c_attn.weight')) grown.set(name, mapMatrix(source.get(name)!, { rows: p.maps.hidden, cols: fused, inAxis: 'rows' }));
        if (name.endsWith('attn.c_attn.bias')) grown.set(name, mapVector(source.get(name)!, fused));
      }
    },
  },
  {
    label: 'tied head without the 1/n',
    model: 'gpt2-shakespeare-d64-l2',
    opts: { method: 'hypercloning', widthMult: 2 },
    plan: (p) => ({ ...p, tiedHeadRescale: false }),
  },
  {
    // Query heads tiled x2, KV heads left at the source's 2: the groups no longer line up.
    label: 'KV heads not grown under GQA',
    model: 'llama-shakespeare-h64-l2',
    opts: { method: 'hypercloning', widthMult: 2 },
    plan: (p) => {
      const s = p.sourceDims;
      if (p.target.family !== 'llama') throw new Error('a Llama control');
      const kv = headsToUnits(
        Int32Array.from({ length: s.kvHeads }, (_, k) => k),
        s.kvHeads,
        s.headDim,
        new Float32Array(s.kvHeads).fill(1),
      );
      return {
        ...p,
        target: { ...p.target, numKeyValueHeads: s.kvHeads },
        targetDims: { ...p.targetDims, kvHeads: s.kvHeads },
        maps: { ...p.maps, kv },
      };
    },
  },
  {
    label: 'RMSNorm zero pad without the sqrt(d/D) gain rescale',
    model: 'llama-shakespeare-h64-l2',
    opts: { method: 'zero-pad', hidden: 128 },
    plan: (p) => {
      if (p.target.family !== 'llama' || p.source.family !== 'llama') throw new Error('a Llama control');
      return { ...p, rmsGainScale: 1, target: { ...p.target, rmsNormEps: p.source.rmsNormEps } };
    },
  },
];

async function growControl(c: Control) {
  const src = await readArrays(fixture(c.model));
  const plan = (c.plan ?? ((p) => p))(makePlan(src.config, c.opts));
  const grown: Arrays = new Map();
  for await (const t of growPlanArrays(plan, (n) => src.arrays.get(n)!)) grown.set(t.name, t.data);
  c.tensors?.(plan, src.arrays, grown);
  return { src, plan, grown };
}

for (const c of CONTROLS) {
  test(`negative control fails the exactness check: ${c.label}`, async () => {
    const { src, plan, grown } = await growControl(c);
    // The wrong variant still claims exactness; the numbers must refute it.
    assert.equal(plan.theory.verdict, 'exact');
    const a = toParams(src.config, src.arrays);
    const b = toParams(plan.target, grown);
    try {
      const r = await checkFunctionPreservation(
        { config: src.config, params: a },
        { config: plan.target, params: b },
        await evalWindows(fixture(c.model), 4),
        'exact',
      );
      assert.equal(r.withinExactTolerance, false);
      assert.equal(r.verdict, 'changes the function');
      assert.ok(r.maxAbsLogitDiff > 1e-2, `max |dlogit| only ${r.maxAbsLogitDiff}`);
    } finally {
      disposeAll(a);
      disposeAll(b);
    }
  });
}

test('the KV-not-grown control really keeps the KV heads (it is not the correct operator in disguise)', async () => {
  const { plan, grown } = await growControl(CONTROLS[2]!);
  assert.equal(plan.target.family === 'llama' && plan.target.numKeyValueHeads, 2);
  assert.equal(plan.target.family === 'llama' && plan.target.numAttentionHeads, 8);
  assert.equal(grown.get('model.layers.0.self_attn.k_proj.weight')!.length, 2 * 16 * 128);
});

test('each control differs from the correct operator in the tensors it names', async () => {
  for (const c of CONTROLS) {
    const { grown } = await growControl(c);
    const right = await growControl({ label: c.label, model: c.model, opts: c.opts });
    const differing = [...grown.keys()].filter((n) => {
      const a = grown.get(n)!;
      const b = right.grown.get(n)!;
      return a.length !== b.length || a.some((v, i) => v !== b[i]);
    });
    assert.ok(differing.length > 0, `${c.label}: no tensor differs from the correct operator`);
  }
});
