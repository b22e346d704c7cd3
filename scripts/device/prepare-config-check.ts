/**
 * For the transformers check on the GPU machine (hf_check.py): model folders whose configs
 * exercise what the fixtures do not: Llama 3 RoPE scaling (as read, and as Scion exports it) and
 * tied Llama embeddings, each with the logits Scion computes for fixed ids.
 *   node --import tsx scripts/device/prepare-config-check.ts   (writes .gpu-rope/, carried to the device)
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../electron/engine/backend.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel, saveModel } from '../../electron/engine/models/model.ts';
import { expectedTensors, fixtureDir } from '../../test/helpers/fixtures.ts';

await initBackend('wasm');
const root = '.gpu-rope/hfg';
rmSync('.gpu-rope', { recursive: true, force: true });
mkdirSync(root, { recursive: true });
const exp = await expectedTensors('llama-shakespeare-h64-l2');
const idsArr = exp.evalIds.slice(0, 2 * 128);
async function check(dir: string) {
  const m = await loadModel(dir);
  const ids = tf.tensor2d(idsArr, [2, 128], 'int32');
  const { logits } = forward(m.config, m.params, ids);
  const v = (await logits.data()) as Float32Array;
  writeFileSync(
    path.join(dir, 'scion_check.json'),
    JSON.stringify({ backend: 'wasm', shape: logits.shape, ids: Array.from(idsArr), logits_f32_b64: Buffer.from(v.buffer).toString('base64') }),
  );
  tf.dispose([ids, logits]);
  disposeParams(m.params);
}
// 1. Llama 3 RoPE scaling (transformers 5 spelling), small original context so every band is hit
const a = path.join(root, 'llama3-rope');
cpSync(fixtureDir('llama-shakespeare-h64-l2'), a, { recursive: true });
rmSync(path.join(a, 'expected.safetensors'));
rmSync(path.join(a, 'expected.json'));
const cfg = JSON.parse(readFileSync(path.join(a, 'config.json'), 'utf8'));
cfg.rope_parameters = { rope_type: 'llama3', rope_theta: 10000, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 };
writeFileSync(path.join(a, 'config.json'), JSON.stringify(cfg, null, 2));
await check(a);
// 2. the same written back by saveModel (our export of a llama3 config)
const m = await loadModel(a);
const b = path.join(root, 'llama3-rope-exported');
await saveModel(b, m.config, m.params, {}, { copyFrom: a });
disposeParams(m.params);
await check(b);
// 3. tied embeddings (SmolLM-style): no lm_head, the head is embed_tokens
const c = path.join(root, 'llama-tied');
const m2 = await loadModel(fixtureDir('llama-shakespeare-h64-l2'));
delete m2.params['lm_head.weight'];
await saveModel(c, { ...m2.config, tieWordEmbeddings: true } as typeof m2.config, m2.params, m2.rawConfig, {
  copyFrom: fixtureDir('llama-shakespeare-h64-l2'),
});
disposeParams(m2.params);
await check(c);
console.log(JSON.parse(readFileSync(path.join(b, 'config.json'), 'utf8')));
