/**
 * `node --import tsx bench/profile-one.ts [config] [topN]`: the full per-op profile of one
 * engine training step on the wasm backend (every kernel, not just the bench's top 12), for
 * finding the next thing to speed up.
 */
import { initBackend } from '../electron/engine/backend.ts';
import { ensureGradients } from '../electron/engine/train/gradients.ts';
import { BENCH_CONFIGS } from './configs.ts';
import { profileStep } from './profile.ts';
import { makeRig } from './train-step.ts';

const name = process.argv[2] ?? 'gpt2-d128-l4';
const topN = Number(process.argv[3] ?? 40);
const bc = BENCH_CONFIGS.find((c) => c.name === name);
if (!bc) throw new Error(`unknown config ${name}`);
await initBackend((process.env['SCION_BACKEND'] as 'wasm' | undefined) ?? 'wasm');
await ensureGradients();
const rig = makeRig('engine', bc.model, bc.batch, bc.ctx, bc.lr);
for (let i = 0; i < 3; i++) await rig.step();
const times: number[] = [];
for (let i = 0; i < 8; i++) {
  const t0 = performance.now();
  await rig.step();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const p = await profileStep(rig.step, topN);
rig.dispose();
console.log(`${name}: median ${times[4]!.toFixed(1)} ms/step (min ${times[0]!.toFixed(1)}); ${p.kernels} kernels, ${p.kernelMs.toFixed(1)} ms in kernels`);
for (const t of p.top) console.log(`${t.kernel.padEnd(40)} ${t.ms.toFixed(2).padStart(7)} ${String(t.calls).padStart(5)}`);
