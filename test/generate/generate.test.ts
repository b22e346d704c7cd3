/**
 * Text generation against the reference: the next-token logits generation uses are the
 * logits transformers computed for every probe prefix, so greedy decoding picks the
 * reference's argmax; the exact HyperCloning fixture (grown by Apple's code) continues a
 * prompt exactly as its source does; sampling follows softmax(logits / T) over the top k,
 * and one seed gives one text. No tensors are left behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { generate, nextTokenLogits } from '../../electron/engine/generate/generate.ts';
import { argmax, sampleToken, samplingProbabilities } from '../../electron/engine/generate/sample.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { loadTokenizer } from '../../electron/engine/tokenizer/tokenizer.ts';
import { Rng } from '../../electron/engine/rng.ts';
import { expectedTensors, fixtureDir, type FixtureName } from '../helpers/fixtures.ts';

before(async () => {
  await initBackend(process.env['SCION_BACKEND'] ?? 'wasm');
});

for (const name of ['gpt2-shakespeare-d64-l2', 'llama-shakespeare-h64-l2'] as FixtureName[]) {
  test(`${name}: next-token logits equal the reference's for prefixes of the probe`, async () => {
    const model = await loadModel(fixtureDir(name));
    const exp = await expectedTensors(name);
    const [, t] = exp.probeShape;
    const v = model.config.vocabSize;
    const before = tf.memory().numTensors;
    for (const len of [1, 7, 33, t]) {
      const ids = Array.from(exp.probeIds.subarray(0, len));
      const got = await nextTokenLogits(model, ids);
      const ref = exp.probeLogits.subarray((len - 1) * v, len * v);
      let maxDiff = 0;
      for (let i = 0; i < v; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
      assert.ok(maxDiff <= 1e-4, `prefix ${len}: max |logit diff| ${maxDiff}`);
      assert.equal(argmax(got), argmax(ref), `prefix ${len}: greedy picks the reference's token`);
    }
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    disposeParams(model.params);
  });
}

test('the exact HyperCloning fixture continues a prompt greedily as its source does', async () => {
  const src = await loadModel(fixtureDir('llama-shakespeare-h64-l2'));
  const grown = await loadModel(fixtureDir('llama-shakespeare-h64-l2-hypercloned-x2'));
  const tok = await loadTokenizer(fixtureDir('llama-shakespeare-h64-l2'));
  const o = { tokens: 24, temperature: 0, topK: 0, seed: 1 };
  const a = await generate(src, tok, 'ROMEO:\nBut soft, what light', o);
  const b = await generate(grown, tok, 'ROMEO:\nBut soft, what light', o);
  assert.equal(a.ids.length, 24);
  assert.deepEqual(b.ids, a.ids);
  assert.ok(a.text.length > 0);
  disposeParams(src.params);
  disposeParams(grown.params);
});

test('streamed pieces add up to the text; one seed gives one text, another seed another', async () => {
  const model = await loadModel(fixtureDir('gpt2-shakespeare-d64-l2'));
  const tok = await loadTokenizer(fixtureDir('gpt2-shakespeare-d64-l2'));
  const pieces: string[] = [];
  const o = { tokens: 30, temperature: 1, topK: 40, seed: 7 };
  const a = await generate(model, tok, 'To be, or not', { ...o, onText: (p) => pieces.push(p) });
  assert.equal(pieces.length, 30);
  assert.equal(pieces.join(''), a.text);
  assert.equal(a.text, tok.decode(a.ids));
  const again = await generate(model, tok, 'To be, or not', o);
  assert.deepEqual(again.ids, a.ids);
  const other = await generate(model, tok, 'To be, or not', { ...o, seed: 8 });
  assert.notDeepEqual(other.ids, a.ids);
  await assert.rejects(generate(model, tok, '', o), /prompt is empty/);
  await assert.rejects(generate(model, tok, 'x', { ...o, temperature: -1 }), /temperature/);
  disposeParams(model.params);
});

test('a prompt longer than the context keeps its last ctx tokens', async () => {
  const model = await loadModel(fixtureDir('gpt2-shakespeare-d64-l2'));
  const tok = await loadTokenizer(fixtureDir('gpt2-shakespeare-d64-l2'));
  const long = 'All the world is a stage, and all the men and women merely players. '.repeat(20);
  assert.ok(tok.encode(long).length > 128);
  const r = await generate(model, tok, long, { tokens: 3, temperature: 0, topK: 0, seed: 0 });
  assert.equal(r.ids.length, 3);
  disposeParams(model.params);
});

test('sampling probabilities: temperature scales the softmax, top-k keeps the k largest', () => {
  const logits = [1, 3, 2, 0];
  const p = samplingProbabilities(logits, { temperature: 1, topK: 0 });
  const z = logits.reduce((s, x) => s + Math.exp(x), 0);
  logits.forEach((x, i) => assert.ok(Math.abs(p[i]! - Math.exp(x) / z) < 1e-12));
  const p2 = samplingProbabilities(logits, { temperature: 0.5, topK: 2 });
  const z2 = Math.exp(3 / 0.5) + Math.exp(2 / 0.5);
  assert.ok(Math.abs(p2[1]! - Math.exp(6) / z2) < 1e-12);
  assert.equal(p2[0], 0);
  assert.equal(p2[3], 0);
  assert.deepEqual(Array.from(samplingProbabilities(logits, { temperature: 0, topK: 0 })), [0, 1, 0, 0]);
});

test('draws follow the probabilities (10,000 draws, each frequency within 4 standard errors)', () => {
  const logits = [0.5, 2, 1, -1, 1.5];
  const o = { temperature: 0.8, topK: 3 };
  const p = samplingProbabilities(logits, o);
  const rng = new Rng(123);
  const n = 10_000;
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleToken(logits, o, rng)]!++;
  for (let i = 0; i < logits.length; i++) {
    const se = Math.sqrt((p[i]! * (1 - p[i]!)) / n);
    assert.ok(Math.abs(counts[i]! / n - p[i]!) <= 4 * se + 1e-12, `token ${i}: ${counts[i]! / n} vs ${p[i]}`);
  }
  assert.equal(counts[0], 0, 'outside the top 3');
  assert.equal(counts[3], 0, 'outside the top 3');
});
