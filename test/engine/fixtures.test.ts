/**
 * The forward pass against the Hugging Face reference outputs in test/fixtures/hf: probe
 * logits within 1e-4 and the 16-window eval loss within 1e-4, on the backend that
 * SCION_BACKEND names (npm test uses wasm; run with SCION_BACKEND=cpu or webgpu for the others).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../electron/engine/backend.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { meanLoss } from '../../electron/engine/eval/loss.ts';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'hf');
const NAMES = ['gpt2-random-d64-l2', 'gpt2-shakespeare-d64-l2', 'llama-shakespeare-h64-l2', 'llama-shakespeare-h64-l2-hypercloned-x2'];

async function maxAbsDiff(a: tf.Tensor, b: Float32Array): Promise<number> {
  const x = await a.data<'float32'>();
  assert.equal(x.length, b.length, 'element count');
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - b[i]!));
  return m;
}

for (const name of NAMES) {
  test(`${name}: logits and eval loss match transformers`, async () => {
    await initBackend();
    const dir = join(FIXTURES, name);
    const model = await loadModel(dir);
    const expected = await SafetensorsFile.open(join(dir, 'expected.safetensors'));
    const refJson = JSON.parse(await readFile(join(dir, 'expected.json'), 'utf8')) as { eval_loss: number };
    const before = tf.memory().numTensors;
    try {
      const probeIds = await expected.readInt32('probe_input_ids');
      const probeShape = expected.info('probe_input_ids').shape as [number, number];
      const refLogits = await expected.readFloat32('probe_logits');
      const ids = tf.tensor2d(probeIds, probeShape, 'int32');
      const { logits } = forward(model.config, model.params, ids);
      const diff = await maxAbsDiff(logits, refLogits);
      tf.dispose([ids, logits]);
      assert.ok(diff < 1e-4, `probe logits differ by ${diff} (limit 1e-4)`);

      const evalIds = await expected.readInt32('eval_input_ids');
      const [n, t] = expected.info('eval_input_ids').shape as [number, number];
      const all = tf.tensor2d(evalIds, [n, t], 'int32');
      const inputs = tf.slice(all, [0, 0], [n, t - 1]) as tf.Tensor2D; // [16, 127]
      const targets = tf.slice(all, [0, 1], [n, t - 1]) as tf.Tensor2D; // [16, 127]
      const loss = meanLoss(model.config, model.params, inputs, targets);
      const got = (await loss.data())[0]!;
      tf.dispose([all, inputs, targets, loss]);
      assert.ok(Math.abs(got - refJson.eval_loss) < 1e-4, `eval loss ${got} vs reference ${refJson.eval_loss}`);
      assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
    } finally {
      await expected.close();
      disposeParams(model.params);
    }
  });
}
