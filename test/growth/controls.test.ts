/**
 * Negative controls from the catalogue: each is a plausible-looking wrong implementation of an
 * exact operator, and each must FAIL the exactness check (proof that the check can fail).
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { type GrowOptions, checkFunctionPreservation } from '../../electron/engine/growth/index.ts';
import { disposeAll, evalWindows, fixture, growInMemory, toParams, useWasm } from './helpers.ts';

before(useWasm);

const CONTROLS: Array<[string, string, GrowOptions]> = [
  ['fused q/k/v tiled as one block', 'gpt2-shakespeare-d64-l2', { method: 'hypercloning', widthMult: 2, negativeControl: 'fused-qkv-one-block' }],
  ['tied head without the 1/n', 'gpt2-shakespeare-d64-l2', { method: 'hypercloning', widthMult: 2, negativeControl: 'tied-head-no-scale' }],
  ['KV heads not grown under GQA', 'llama-shakespeare-h64-l2', { method: 'hypercloning', widthMult: 2, negativeControl: 'kv-heads-not-grown' }],
  [
    'RMSNorm zero pad without the sqrt(d/D) gain rescale',
    'llama-shakespeare-h64-l2',
    { method: 'zero-pad', hidden: 128, negativeControl: 'rms-pad-no-rescale' },
  ],
];

for (const [label, model, opts] of CONTROLS) {
  test(`negative control fails the exactness check: ${label}`, async () => {
    const g = await growInMemory(fixture(model), opts);
    // The wrong variant still claims exactness; the numbers must refute it.
    assert.equal(g.plan.theory.verdict, 'exact');
    const a = toParams(g.source.config, g.source.arrays);
    const b = toParams(g.target, g.grown);
    try {
      const r = await checkFunctionPreservation(
        { config: g.source.config, params: a },
        { config: g.target, params: b },
        await evalWindows(fixture(model), 4),
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
  const g = await growInMemory(fixture('llama-shakespeare-h64-l2'), { method: 'hypercloning', widthMult: 2, negativeControl: 'kv-heads-not-grown' });
  assert.equal(g.target.family === 'llama' && g.target.numKeyValueHeads, 2);
  assert.equal(g.target.family === 'llama' && g.target.numAttentionHeads, 8);
});
