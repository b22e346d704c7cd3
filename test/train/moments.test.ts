/**
 * Carrying AdamW moments through HyperCloning: with betas 0 a moment is the gradient itself
 * (m = g, v = g^2), so the source's moments mapped through the operator must equal the
 * moments measured on the grown model's own gradients, on the same batch, for every tensor
 * of both families. Zero pad copies old moments and zeroes new entries (as MSG does).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { growModelDir } from '../../electron/engine/growth/index.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { carryMoments, estimateMoments, type MomentArrays } from '../../electron/engine/train/moments.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
before(async () => {
  await initBackend();
});
after(() => tmp.cleanup());

const ids = Uint32Array.from({ length: 4000 }, (_, i) => (i * 37 + (i >> 3)) % 512);
const gradientOnly = { steps: 1, batch: 2, ctx: 32, beta1: 0, beta2: 0, clip: 0, seed: 1 };

function worstRelative(a: MomentArrays, b: MomentArrays, name: string): number {
  const x = a[name]!;
  const y = b[name]!;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return diff / scale;
}

describe('AdamW moments through growth', () => {
  for (const fixture of ['llama-shakespeare-h64-l2', 'gpt2-shakespeare-d64-l2'] as const) {
    test(`HyperCloning x2 (${fixture}): carried moments equal the grown model's own`, async () => {
      const grownDir = path.join(tmp.dir, `${fixture}-hc`);
      await growModelDir(fixtureDir(fixture), grownDir, { method: 'hypercloning', hidden: 128, check: false });
      const src = await loadModel(fixtureDir(fixture));
      const grown = await loadModel(grownDir);
      try {
        const ms = await estimateMoments(src.config, src.params, ids, gradientOnly);
        const mg = await estimateMoments(grown.config, grown.params, ids, gradientOnly);
        const carried = await carryMoments(src.config, ms, { method: 'hypercloning', hidden: 128 });
        assert.equal(carried.scale, 2);
        assert.deepEqual(Object.keys(carried.moments.m).sort(), Object.keys(mg.m).sort());
        for (const name of Object.keys(mg.m)) {
          assert.ok(worstRelative(carried.moments.m, mg.m, name) < 1e-4, `m ${name}: ${worstRelative(carried.moments.m, mg.m, name)}`);
          assert.ok(worstRelative(carried.moments.v, mg.v, name) < 1e-4, `v ${name}: ${worstRelative(carried.moments.v, mg.v, name)}`);
        }
      } finally {
        disposeParams(src.params);
        disposeParams(grown.params);
      }
    });
  }

  test('zero pad: old entries keep the source moments, new ones start at zero', async () => {
    const src = await loadModel(fixtureDir('gpt2-shakespeare-d64-l2'));
    try {
      const ms = await estimateMoments(src.config, src.params, ids, { ...gradientOnly, beta1: 0.9, beta2: 0.95, steps: 2 });
      const c = await carryMoments(src.config, ms, { method: 'zero-pad', hidden: 96 });
      assert.equal(c.scale, 1);
      assert.equal(c.moments.t, 2);
      const sum = (a: Float32Array) => a.reduce((s, x) => s + x, 0);
      const zeros = (a: Float32Array) => a.reduce((s, x) => s + (x === 0 ? 1 : 0), 0);
      for (const name of Object.keys(ms.m)) {
        assert.ok(Math.abs(sum(c.moments.v[name]!) - sum(ms.v[name]!)) <= 1e-4 * sum(ms.v[name]!), `v ${name} keeps its total`);
        assert.ok(zeros(c.moments.m[name]!) >= c.moments.m[name]!.length - ms.m[name]!.length, `${name}: new entries are zero`);
      }
    } finally {
      disposeParams(src.params);
    }
  });
});
