/**
 * The Llama-shaped families against transformers, once their reference folders exist: for
 * every family folder scripts/make-fixtures.py (--families) writes under test/fixtures/hf,
 * the probe logits within 1e-4 of transformers', the eval loss within 1e-4 of its
 * `expected.json`, and HyperCloning x2 exact on its own eval windows. Until a folder is made
 * (transformers is not installed where Scion is developed) its tests are skipped, saying so.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { lossAndCorrect } from '../../electron/engine/eval/loss.ts';
import { checkFunctionPreservation } from '../../electron/engine/growth/index.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { disposeAll, evalWindows, growInMemory, toParams } from '../growth/helpers.ts';

/** The folders scripts/make-fixtures.py --families writes, and the family each must load as. */
const FAMILY_FIXTURES = [
  { name: 'qwen2-shakespeare-h64-l2', family: 'qwen2' },
  { name: 'qwen2-random-h64-l2-tied', family: 'qwen2' },
  { name: 'qwen3-shakespeare-h64-l2', family: 'qwen3' },
  { name: 'mistral-shakespeare-h64-l2-w16', family: 'mistral' },
  { name: 'pythia-shakespeare-h64-l2', family: 'gpt_neox' },
  { name: 'opt-shakespeare-h64-l2', family: 'opt' },
  { name: 'opt-random-h64-l2-postln-proj', family: 'opt' },
  { name: 'phi3-shakespeare-h64-l2-w16', family: 'phi3' },
  { name: 'gemma-shakespeare-h64-l2', family: 'gemma' },
  { name: 'gemma-random-h64-l2-hd32', family: 'gemma' },
  { name: 'gemma3-shakespeare-h64-l2-w16', family: 'gemma3_text' },
  { name: 'olmo-shakespeare-h64-l2-clip', family: 'olmo' },
  { name: 'olmo2-shakespeare-h64-l2', family: 'olmo2' },
] as const;

before(async () => {
  await initBackend(process.env['SCION_BACKEND'] ?? 'wasm');
});

for (const f of FAMILY_FIXTURES) {
  const dir = path.join(FIXTURES, f.name);
  const skip = existsSync(path.join(dir, 'expected.safetensors'))
    ? false
    : `no ${f.name} reference yet: run scripts/make-fixtures.py --families where transformers is installed`;
  describe(`transformers reference ${f.name}`, () => {
    test('probe logits within 1e-4 and eval loss within 1e-4 of transformers', { skip }, async () => {
      const model = await loadModel(dir);
      assert.equal(model.config.family, f.family);
      const file = await SafetensorsFile.open(path.join(dir, 'expected.safetensors'));
      const probeIds = await file.readInt32('probe_input_ids');
      const probeShape = file.info('probe_input_ids').shape as [number, number];
      const probeLogits = await file.readFloat32('probe_logits');
      const evalIds = await file.readInt32('eval_input_ids');
      const [n, t] = file.info('eval_input_ids').shape as [number, number];
      await file.close();
      const before = tf.memory().numTensors;
      const ids = tf.tensor2d(probeIds, probeShape, 'int32');
      const { logits } = forward(model.config, model.params, ids);
      const got = (await logits.data()) as Float32Array;
      tf.dispose([logits, ids]);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - probeLogits[i]!));
      assert.ok(worst <= 1e-4, `max |logit diff| = ${worst}`);
      const all = tf.tensor2d(evalIds, [n, t], 'int32');
      const inputs = tf.slice(all, [0, 0], [n, t - 1]) as tf.Tensor2D;
      const targets = tf.slice(all, [0, 1], [n, t - 1]) as tf.Tensor2D;
      const { lossSum } = await lossAndCorrect(model.config, model.params, inputs, targets);
      tf.dispose([all, inputs, targets]);
      disposeParams(model.params);
      assert.equal(tf.memory().numTensors, before, 'leaked tensors');
      const ref = (JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { eval_loss: number }).eval_loss;
      assert.ok(Math.abs(lossSum / (n * (t - 1)) - ref) <= 1e-4, `loss ${lossSum / (n * (t - 1))} vs reference ${ref}`);
    });

    test('HyperCloning x2 is exact on its eval windows (dloss <= 1e-5)', { skip }, async () => {
      const g = await growInMemory(dir, { method: 'hypercloning', widthMult: 2 });
      const a = toParams(g.source.config, g.source.arrays);
      const b = toParams(g.target, g.grown);
      try {
        const r = await checkFunctionPreservation({ config: g.source.config, params: a }, { config: g.target, params: b }, await evalWindows(dir, 4), 'exact');
        assert.ok(r.withinExactTolerance, `max |dlogit| ${r.maxAbsLogitDiff}`);
        assert.ok(Math.abs(r.lossGrown - r.lossSource) <= 1e-5);
      } finally {
        disposeAll(a);
        disposeAll(b);
      }
    });
  });
}
