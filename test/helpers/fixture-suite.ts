/**
 * The engine against the reference implementation: logits, eval loss and tokenizer ids for
 * every fixture model must equal what Hugging Face transformers produced (test/fixtures/hf),
 * on one backend. test/engine/fixtures.test.ts runs it on wasm and cpu, test/webgpu on webgpu.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { evaluate } from '../../electron/engine/eval/evaluate.ts';
import { lossAndCorrect, meanLoss } from '../../electron/engine/eval/loss.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { loadTokenizer } from '../../electron/engine/tokenizer/tokenizer.ts';
import { FIXTURE_MODELS, expectedJson, expectedTensors, fixtureDir } from './fixtures.ts';

/** The fixture checks (logits, eval loss, tokenizer ids vs transformers) as one describe per model on `backend`. */
/** The engine's eval loss agrees with transformers' to about 2e-6; 1e-5 still catches a 0.1% error in the attention scale. */
const LOSS_TOL = 1e-5;

export function fixtureSuite(backend: string): void {
  for (const name of FIXTURE_MODELS) {
    describe(`fixture ${name} on ${backend}`, () => {
      before(async () => {
        await initBackend(backend);
      });

      test('probe logits equal the reference within 1e-4', async () => {
        const model = await loadModel(fixtureDir(name));
        const exp = await expectedTensors(name);
        const before = tf.memory().numTensors;
        const ids = tf.tensor2d(exp.probeIds, exp.probeShape, 'int32');
        const { logits } = forward(model.config, model.params, ids);
        const got = await logits.data();
        tf.dispose([logits, ids]);
        assert.equal(tf.memory().numTensors, before, 'forward pass leaked tensors');
        assert.equal(got.length, exp.probeLogits.length);
        let maxDiff = 0;
        for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - exp.probeLogits[i]!));
        assert.ok(maxDiff <= 1e-4, `max |logit diff| = ${maxDiff}`);
        disposeParams(model.params);
      });

      test('eval loss equals the reference within 1e-5 (evaluation and the training loss)', async () => {
        const model = await loadModel(fixtureDir(name));
        const exp = await expectedTensors(name);
        const [n, t] = exp.evalShape;
        const before = tf.memory().numTensors;
        const all = tf.tensor2d(exp.evalIds, [n, t], 'int32');
        const inputs = tf.slice(all, [0, 0], [n, t - 1]) as tf.Tensor2D; // [16, 127]: tokens 1..127
        const targets = tf.slice(all, [0, 1], [n, t - 1]) as tf.Tensor2D; // [16, 127]: tokens 2..128
        const { lossSum } = await lossAndCorrect(model.config, model.params, inputs, targets);
        const mean = meanLoss(model.config, model.params, inputs, targets);
        const trainLoss = (await mean.data())[0]!;
        tf.dispose([all, inputs, targets, mean]);
        assert.equal(tf.memory().numTensors, before, 'evaluation leaked tensors');
        const ref = expectedJson(name).eval_loss;
        const loss = lossSum / (n * (t - 1));
        assert.ok(Math.abs(loss - ref) <= LOSS_TOL, `loss ${loss} vs reference ${ref}`);
        assert.ok(Math.abs(trainLoss - ref) <= LOSS_TOL, `training loss ${trainLoss} vs reference ${ref}`);
        disposeParams(model.params);
      });

      test('scion eval windows over the concatenated eval ids give the reference loss', async () => {
        const model = await loadModel(fixtureDir(name));
        const exp = await expectedTensors(name);
        const before = tf.memory().numTensors;
        // 16 windows of 128 laid end to end, plus a partial window that must be dropped.
        const ids = new Uint32Array(exp.evalIds.length + 50);
        ids.set(Uint32Array.from(exp.evalIds));
        const r = await evaluate(model, ids, { ctx: exp.evalShape[1], batch: 5 });
        assert.equal(tf.memory().numTensors, before, 'evaluate leaked tensors');
        assert.equal(r.windows, exp.evalShape[0]);
        assert.equal(r.tokens, exp.evalShape[0] * (exp.evalShape[1] - 1));
        assert.ok(Math.abs(r.loss - expectedJson(name).eval_loss) <= LOSS_TOL, `loss ${r.loss} vs reference ${expectedJson(name).eval_loss}`);
        assert.ok(Math.abs(r.perplexity - Math.exp(r.loss)) < 1e-9);
        assert.ok(r.accuracy > 0 && r.accuracy < 1);
        disposeParams(model.params);
      });

      test('tokenizer reproduces the reference ids', async () => {
        const tok = await loadTokenizer(fixtureDir(name));
        assert.equal(tok.kind, 'tokenizer.json');
        for (const s of expectedJson(name).tokenizer_samples) {
          assert.deepEqual(tok.encode(s.text), s.ids, `ids for ${JSON.stringify(s.text)}`);
          assert.equal(tok.decode(s.ids), s.text);
        }
      });
    });
  }
}
