/**
 * For the transformers cross-check (scripts/device/hf_check.py): on the chosen backend,
 * trains each bench config a few AdamW steps from a seeded init (so the training path runs
 * on that backend and the weights are not an init pattern), saves it as a Hugging Face
 * folder with saveModel, and writes `scion_check.json` beside it: fixed token ids and the
 * logits Scion's forward gives for them. Usage:
 *   node --import tsx bench/hf-export.ts --backend webgpu --out DIR [--steps 3]
 */
import * as tf from '@tensorflow/tfjs-core';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initBackend } from '../electron/engine/backend.ts';
import { forward } from '../electron/engine/models/family.ts';
import { saveModel } from '../electron/engine/models/model.ts';
import { ensureGradients } from '../electron/engine/train/gradients.ts';
import { BENCH_CONFIGS } from './configs.ts';
import { makeRig, randomBatch } from './train-step.ts';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string, fallback?: string) => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? argv[i + 1] : fallback;
    if (v === undefined) throw new Error(`${name} is required`);
    return v;
  };
  const backend = await initBackend(flag('--backend', 'auto'));
  await ensureGradients();
  const out = flag('--out');
  const steps = Number(flag('--steps', '3'));
  const summary = [];
  for (const bc of BENCH_CONFIGS) {
    const t = makeRig('engine', bc.model, bc.batch, bc.ctx, bc.lr, `hf/${bc.name}`);
    const losses: number[] = [];
    for (let i = 0; i < steps; i++) losses.push(await t.step());
    const dir = join(out, bc.name);
    await saveModel(dir, bc.model, t.vars);
    const probe = randomBatch(bc.model.vocabSize, 2, 32, 7);
    const { logits } = forward(bc.model, t.vars, probe.inputs); // [2, 32, V]
    const ids = Array.from(await probe.inputs.data());
    const values = Array.from(await logits.data());
    await writeFile(join(dir, 'scion_check.json'), JSON.stringify({ backend: backend.name, shape: logits.shape, ids, logits: values, train_losses: losses }));
    tf.dispose([logits, probe.inputs, probe.targets]);
    t.dispose();
    summary.push({ config: bc.name, dir, train_losses: losses });
    process.stderr.write(`hf-export: ${bc.name} on ${backend.name}: losses ${losses.map((l) => l.toFixed(4)).join(' ')} -> ${dir}\n`);
  }
  process.stdout.write(JSON.stringify({ backend: backend.name, models: summary }) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`hf-export: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
