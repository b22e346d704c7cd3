import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../electron/engine/backend.ts';
import { loadModel } from '../electron/engine/models/model.ts';
import { forward } from '../electron/engine/models/family.ts';
import { SafetensorsFile } from '../electron/engine/io/safetensors.ts';
const info = await initBackend(process.argv[2]);
console.log(info);
for (const m of ['gpt2-random-d64-l2','gpt2-shakespeare-d64-l2','llama-shakespeare-h64-l2','llama-shakespeare-h64-l2-hypercloned-x2']) {
  const dir = '../shared/fixtures/hf/' + m;
  const model = await loadModel(dir);
  const exp = await SafetensorsFile.open(dir + '/expected.safetensors');
  console.log(exp.names(), exp.info('probe_logits').shape);
  const ids = tf.tensor2d(await exp.readInt32('probe_input_ids'), exp.info('probe_input_ids').shape as [number,number], 'int32');
  const before = tf.memory().numTensors;
  const t0 = Date.now();
  const { logits } = forward(model.config, model.params, ids);
  const got = await logits.data();
  const want = await exp.readFloat32('probe_logits');
  let maxd = 0; for (let i=0;i<want.length;i++) maxd = Math.max(maxd, Math.abs(got[i]!-want[i]!));
  logits.dispose();
  console.log(m, 'maxdiff', maxd, Date.now()-t0, 'ms', 'leak', tf.memory().numTensors - before);
}
