/**
 * Evaluation's uncertainty: each window's loss is what evaluating that window alone gives,
 * the loss is their mean, and its standard error is their sample standard deviation over
 * sqrt(windows); the Evaluations screen's paired difference of two models follows the same
 * arithmetic on per-window differences, and calls a difference within two errors noise.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { evaluate } from '../../electron/engine/eval/evaluate.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { lossDifference } from '../../renderer/src/lib/eval-compare.ts';
import { expectedTensors, fixtureDir } from '../helpers/fixtures.ts';

before(async () => {
  await initBackend(process.env['SCION_BACKEND'] ?? 'wasm');
});

test('per-window losses, their mean and standard error', async () => {
  const model = await loadModel(fixtureDir('gpt2-shakespeare-d64-l2'));
  const ids = Uint32Array.from((await expectedTensors('gpt2-shakespeare-d64-l2')).evalIds);
  const ctx = 32;
  const before = tf.memory().numTensors;
  const r = await evaluate(model, ids, { ctx, maxWindows: 7, batch: 3 });
  assert.equal(r.windowLosses.length, 7);
  for (let w = 0; w < 7; w++) {
    const alone = await evaluate(model, ids.subarray(w * ctx, (w + 1) * ctx), { ctx });
    assert.ok(Math.abs(alone.loss - r.windowLosses[w]!) < 1e-5, `window ${w}: ${alone.loss} vs ${r.windowLosses[w]}`);
  }
  const mean = r.windowLosses.reduce((a, x) => a + x, 0) / 7;
  assert.ok(Math.abs(mean - r.loss) < 1e-5);
  const sd = Math.sqrt(r.windowLosses.reduce((a, x) => a + (x - mean) ** 2, 0) / 6);
  assert.ok(Math.abs(r.lossStdErr! - sd / Math.sqrt(7)) < 1e-9);
  assert.ok(r.lossStdErr! > 0);
  const one = await evaluate(model, ids, { ctx, maxWindows: 1 });
  assert.equal(one.lossStdErr, undefined, 'no error from one window');
  assert.equal(tf.memory().numTensors, before);
  disposeParams(model.params);
});

test('lossDifference: paired over the same windows, unpaired otherwise; noise within two errors', () => {
  const m = (loss: number, windowLosses?: number[], lossStdErr?: number) => ({
    loss,
    perplexity: Math.exp(loss),
    accuracy: 0.3,
    tokens: 100,
    windows: windowLosses?.length ?? 4,
    ctx: 32,
    ...(windowLosses ? { windowLosses } : {}),
    ...(lossStdErr !== undefined ? { lossStdErr } : {}),
  });
  const parent = m(3, [2, 3, 4, 3], 0.41);
  // every window 0.02 lower: a clear, paired improvement despite the large per-model spread
  const better = lossDifference(m(2.98, [1.98, 2.99, 3.97, 2.96], 0.4), parent);
  assert.equal(better.paired, true);
  assert.ok(Math.abs(better.diff + 0.02) < 1e-12);
  assert.ok(better.se! < 0.01);
  assert.equal(better.verdict, 'better');
  // without per-window losses the errors add: the same 0.02 is noise
  const unpaired = lossDifference(m(2.98, undefined, 0.4), m(3, undefined, 0.41));
  assert.equal(unpaired.paired, false);
  assert.ok(Math.abs(unpaired.se! - Math.hypot(0.4, 0.41)) < 1e-12);
  assert.equal(unpaired.verdict, 'noise');
  assert.equal(lossDifference(m(3.00001, [2, 3, 4, 3]), parent).verdict, 'same');
  assert.equal(lossDifference(m(3.5), m(3)).verdict, 'worse', 'no errors known: the sign');
});
