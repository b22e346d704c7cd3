/**
 * For the reference check on the GPU machine (scripts/device/hf_check.py): grows the fixture
 * models with every exact operator (and a few approximate ones) here, and writes beside each
 * grown folder `scion_check.json`: fixed token ids, the logits Scion's forward gives for them,
 * the source folder and the verdict Scion claims. There, transformers loads the grown folder
 * (proving the export format) and the source, so function preservation is confirmed by the
 * reference implementation, not by our own forward pass.
 *   node --import tsx scripts/device/prepare-grown-check.ts .gpu/hf-grown
 */
import * as tf from '@tensorflow/tfjs-core';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../electron/engine/backend.ts';
import type { GrowOptions } from '../../electron/engine/growth/options.ts';
import { growModelDir } from '../../electron/engine/growth/index.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { expectedTensors, fixtureDir, type FixtureName } from '../../test/helpers/fixtures.ts';

const CASES: Array<{ name: string; source: FixtureName; opts: GrowOptions }> = [
  { name: 'gpt2-hypercloning-x2', source: 'gpt2-shakespeare-d64-l2', opts: { method: 'hypercloning', widthMult: 2 } },
  { name: 'gpt2-hypercloning-x3-noise20', source: 'gpt2-shakespeare-d64-l2', opts: { method: 'hypercloning', widthMult: 3, ffnMult: 2, noiseDb: 20, seed: 1 } },
  { name: 'gpt2-identity-l4', source: 'gpt2-shakespeare-d64-l2', opts: { method: 'identity', layers: 4, insertAt: [1] } },
  { name: 'gpt2-mlp-zero-f512', source: 'gpt2-shakespeare-d64-l2', opts: { method: 'mlp-zero', ffn: 512 } },
  { name: 'gpt2-zero-pad-d96', source: 'gpt2-shakespeare-d64-l2', opts: { method: 'zero-pad', hidden: 96, heads: 6 } },
  { name: 'gpt2-net2net-d96', source: 'gpt2-shakespeare-d64-l2', opts: { method: 'net2net', hidden: 96, heads: 6 } },
  { name: 'llama-hypercloning-x2', source: 'llama-shakespeare-h64-l2', opts: { method: 'hypercloning', widthMult: 2 } },
  { name: 'llama-hypercloning-x3-noise10', source: 'llama-shakespeare-h64-l2', opts: { method: 'hypercloning', widthMult: 3, noiseDb: 10, seed: 2 } },
  { name: 'llama-zero-pad-h128', source: 'llama-shakespeare-h64-l2', opts: { method: 'zero-pad', hidden: 128, heads: 8, ffn: 300 } },
  { name: 'llama-add-heads-8', source: 'llama-shakespeare-h64-l2', opts: { method: 'add-heads', heads: 8 } },
  { name: 'llama-identity-l3', source: 'llama-shakespeare-h64-l2', opts: { method: 'identity', layers: 3 } },
  { name: 'llama-stack-l4', source: 'llama-shakespeare-h64-l2', opts: { method: 'stack', layers: 4 } },
];

async function logits(dir: string, ids: tf.Tensor2D): Promise<{ shape: number[]; values: Float32Array }> {
  const m = await loadModel(dir);
  const { logits: l } = forward(m.config, m.params, ids);
  const out = { shape: l.shape, values: (await l.data()) as Float32Array };
  l.dispose();
  disposeParams(m.params);
  return out;
}

const root = process.argv[2] ?? '.gpu/hf-grown';
await initBackend('wasm');
rmSync(root, { recursive: true, force: true });
mkdirSync(path.join(root, '_sources'), { recursive: true });
for (const src of ['gpt2-shakespeare-d64-l2', 'llama-shakespeare-h64-l2'] as const) {
  cpSync(fixtureDir(src), path.join(root, '_sources', src), { recursive: true });
}
for (const c of CASES) {
  const exp = await expectedTensors(c.source);
  const ids = tf.tensor2d(exp.evalIds.slice(0, 2 * 128), [2, 128], 'int32'); // 2 full-length windows
  const out = path.join(root, c.name);
  const report = await growModelDir(fixtureDir(c.source), out, { ...c.opts, check: true });
  const grown = await logits(out, ids);
  writeFileSync(
    path.join(out, 'scion_check.json'),
    JSON.stringify({
      backend: 'wasm',
      shape: grown.shape,
      ids: Array.from(exp.evalIds.slice(0, 2 * 128)),
      logits_f32_b64: Buffer.from(grown.values.buffer).toString('base64'),
      source: `../_sources/${c.source}`,
      verdict: report.verdict,
      method: c.opts,
    }),
  );
  ids.dispose();
  process.stderr.write(`${c.name}: ${report.verdict}, max |dlogit| ${report.check?.maxAbsLogitDiff.toExponential(2)}\n`);
}
