/**
 * For the transformers check (scripts/device/hf_check.py, wherever transformers is installed):
 * one model folder per family, made by Scion (the Llama fixture's trained weights under the
 * family's config.json, with Qwen2 q/k/v biases, Qwen3 q/k norm gains and a Mistral window of
 * 16 drawn or set; a tied-head Qwen2 from a random init; a Pythia-shaped GPT-NeoX with partial
 * rotary, parallel and sequential residual, drawn at random; the hand-built OPT and Phi-3
 * checkpoints of test/fixtures/numpy-families; Gemma with a tied head, OLMo tied with clip_qkv 1,
 * OLMo2 from test/helpers/gemma-olmo-models.ts), the same model exported
 * by Scion, and its HyperCloning x2 growth, each with `scion_check.json` (fixed ids and the
 * logits Scion computes). There transformers loads every folder, so the forward of each
 * family, the exported config.json and the grown folders are checked by the reference.
 *   node --import tsx scripts/device/prepare-family-check.ts .gpu/hf-families
 *   python3 scripts/device/hf_check.py .gpu/hf-families
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../electron/engine/backend.ts';
import { growModelDir } from '../../electron/engine/growth/index.ts';
import { parseHFConfig } from '../../electron/engine/models/config.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel, saveModel } from '../../electron/engine/models/model.ts';
import { initArrays } from '../../electron/engine/train/init.ts';
import { type Json, familyArrays, familyConfigJson, writeModelDir } from '../../test/helpers/family-models.ts';
import { expectedTensors } from '../../test/helpers/fixtures.ts';
import { gemmaOlmoArrays, gemmaOlmoConfigJson } from '../../test/helpers/gemma-olmo-models.ts';
import { neoxArrays, neoxConfigJson } from '../../test/helpers/neox-model.ts';
import { NUMPY_MODELS, numpyModelDir, numpyProbe } from '../../test/helpers/numpy-families.ts';
import { readArrays } from '../../test/growth/helpers.ts';

const root = process.argv[2] ?? '.gpu/hf-families';
await initBackend('wasm');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
const exp = await expectedTensors('llama-shakespeare-h64-l2');
const ids = exp.evalIds.slice(0, 2 * 128); // 2 full-length windows

type Probe = { ids: Int32Array; shape: [number, number] };

async function writeCheck(dir: string, extra: Json = {}, probe: Probe = { ids, shape: [2, 128] }): Promise<void> {
  const m = await loadModel(dir);
  const x = tf.tensor2d(probe.ids, probe.shape, 'int32');
  const { logits } = forward(m.config, m.params, x);
  const v = (await logits.data()) as Float32Array;
  writeFileSync(
    path.join(dir, 'scion_check.json'),
    JSON.stringify({ backend: 'wasm', shape: logits.shape, ids: Array.from(probe.ids), logits_f32_b64: Buffer.from(v.buffer).toString('base64'), ...extra }),
  );
  tf.dispose([x, logits]);
  disposeParams(m.params);
}

const llama = (await readArrays(path.join('test', 'fixtures', 'hf', 'llama-shakespeare-h64-l2'))).arrays;
const tiedRaw = familyConfigJson('qwen2', { tie_word_embeddings: true });
const tiedInit = new Map([...initArrays(parseHFConfig(tiedRaw), 3)].map(([n, a]) => [n, a.data] as const));
for (const n of [...tiedInit.keys()]) if (n.endsWith('_proj.bias')) tiedInit.delete(n);
const SOURCES: Array<{ name: string; raw: Json; weights: Map<string, Float32Array>; biasStd?: number; normJitter?: number; own?: boolean }> = [
  { name: 'qwen2', raw: familyConfigJson('qwen2'), weights: llama, biasStd: 0.3 },
  { name: 'qwen2-tied', raw: tiedRaw, weights: tiedInit, biasStd: 0.3 },
  { name: 'qwen3', raw: familyConfigJson('qwen3'), weights: llama, normJitter: 0.2 },
  { name: 'mistral-w16', raw: familyConfigJson('mistral', { sliding_window: 16 }), weights: llama },
  { name: 'pythia-parallel', raw: neoxConfigJson(), weights: neoxArrays(neoxConfigJson()).arrays },
  { name: 'neox-sequential', raw: neoxConfigJson({ use_parallel_residual: false }), weights: neoxArrays(neoxConfigJson()).arrays },
];
// Gemma, OLMo and OLMo2 made by their own helper (Gemma's norms stored as gain - 1, OLMo2's q/k norms drawn): `own` marks them.
for (const [name, raw] of [
  ['gemma-tied', gemmaOlmoConfigJson('gemma', { tie_word_embeddings: true })],
  ['gemma3-tied-w16', gemmaOlmoConfigJson('gemma3_text', { tie_word_embeddings: true })],
  ['olmo-tied-clip', gemmaOlmoConfigJson('olmo', { tie_word_embeddings: true, clip_qkv: 1 })],
  ['olmo2', gemmaOlmoConfigJson('olmo2', { tie_word_embeddings: false })],
] as const)
  SOURCES.push({ name, raw, weights: gemmaOlmoArrays(raw, llama).arrays, own: true });

/** The source folder's check, then the same model exported and grown by HyperCloning x2, each with scion_check.json. */
async function exportAndGrow(name: string, src: string, checkLength: number, probe?: Probe): Promise<void> {
  await writeCheck(src, {}, probe);
  const m = await loadModel(src);
  const exported = path.join(root, `${name}-exported`);
  await saveModel(exported, m.config, m.params, m.rawConfig);
  disposeParams(m.params);
  await writeCheck(exported, {}, probe);
  const grown = path.join(root, `${name}-hypercloning-x2`);
  const report = await growModelDir(src, grown, { method: 'hypercloning', widthMult: 2, checkLength });
  await writeCheck(grown, { source: `../${name}-source`, verdict: report.verdict, method: { method: 'hypercloning', widthMult: 2 } }, probe);
  process.stderr.write(`${name}: grown ${report.verdict}, max |dlogit| ${report.check?.maxAbsLogitDiff.toExponential(2)}\n`);
}

for (const s of SOURCES) {
  const arrays = s.own ? s.weights : familyArrays(s.raw, s.weights, { biasStd: s.biasStd ?? 0, normJitter: s.normJitter ?? 0 }).arrays;
  await exportAndGrow(s.name, await writeModelDir(path.join(root, `${s.name}-source`), s.raw, arrays), 128);
}

// OPT and Phi-3: the hand-built checkpoints of test/fixtures/numpy-families (vocab 96, context 32), probed with their own ids
for (const name of NUMPY_MODELS) {
  const src = path.join(root, `${name}-source`);
  cpSync(numpyModelDir(name), src, { recursive: true });
  rmSync(path.join(src, 'expected.safetensors'));
  await exportAndGrow(name, src, 32, await numpyProbe(name));
}
