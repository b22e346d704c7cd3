/**
 * Training on WebGPU as a user runs it (trainRun / resumeRun in a run folder): 20 steps whose
 * losses and gradient norms match the wasm backend's from the same seed and data, and a run
 * interrupted at step 8 and resumed that gives exactly the uninterrupted run's losses.
 * Tiny config (lavapipe is a CPU rasteriser: seconds per step at real sizes).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import type { MetricLine } from '../../electron/engine/train/metrics.ts';
import { resumeRun, trainRun } from '../../electron/engine/train/run.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText, makeTinyModel, TINY_LLAMA, tinyRun } from '../train/tiny.ts';
import { webgpuOrSkip } from './adapter.ts';

const skip = await webgpuOrSkip();
const STEPS = 20;

describe('training on webgpu', { skip }, () => {
  const tmp = tempDir();
  let model: string;
  let data: string;
  const opts = (out: string) => tinyRun(model, data, out, STEPS);
  const losses = (m: MetricLine[]) => m.filter((l) => l.train_loss !== undefined).map((l) => l.train_loss!);
  let gpuRun: MetricLine[] = [];

  before(async () => {
    model = await makeTinyModel(tmp.dir);
    data = makeText(tmp.dir, 6000);
  });
  after(() => tmp.cleanup());

  test(`${STEPS} steps match the wasm backend's losses and gradient norms`, async () => {
    await initBackend('wasm');
    const cpu = await trainRun(opts(path.join(tmp.dir, 'wasm')));
    await initBackend('webgpu');
    const gpu = await trainRun(opts(path.join(tmp.dir, 'webgpu')));
    gpuRun = gpu.metrics;
    assert.equal(gpu.status, 'completed');
    const [a, b] = [losses(cpu.metrics), losses(gpu.metrics)];
    assert.equal(b.length, STEPS);
    assert.ok(b[STEPS - 1]! < b[0]! - 0.3, `the loss falls (${b[0]} -> ${b[STEPS - 1]})`);
    for (let i = 0; i < STEPS; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 2e-4, `step ${i + 1}: webgpu loss ${b[i]} vs wasm ${a[i]}`);
    const norms = (m: MetricLine[]) => m.filter((l) => l.grad_norm !== undefined).map((l) => l.grad_norm!);
    const [na, nb] = [norms(cpu.metrics), norms(gpu.metrics)];
    for (let i = 0; i < STEPS; i++) assert.ok(Math.abs(na[i]! - nb[i]!) <= 1e-3 * na[i]!, `step ${i + 1}: webgpu grad norm ${nb[i]} vs wasm ${na[i]}`);
  });

  test(`Llama (grouped KV heads, untied head): ${STEPS} steps match the wasm backend's losses`, async () => {
    const llama = await makeTinyModel(tmp.dir, TINY_LLAMA, 'tiny-llama');
    const o = (out: string) => ({ ...opts(out), model: llama });
    await initBackend('wasm');
    const cpu = losses((await trainRun(o(path.join(tmp.dir, 'llama-wasm')))).metrics);
    await initBackend('webgpu');
    const gpu = losses((await trainRun(o(path.join(tmp.dir, 'llama-webgpu')))).metrics);
    assert.equal(gpu.length, STEPS);
    for (let i = 0; i < STEPS; i++) assert.ok(Math.abs(cpu[i]! - gpu[i]!) <= 2e-4, `step ${i + 1}: webgpu loss ${gpu[i]} vs wasm ${cpu[i]}`);
  });

  // Bit for bit: every kernel of the step sums in a fixed order (the embedding's gradient too:
  // webgpu/kernels-embed.ts, no atomic adds; tfjs's split-K product, which adds atomically, is
  // used only for products over 2000+ rows, not at this size).
  test('interrupted at step 8 and resumed: exactly the uninterrupted losses, every step once', async () => {
    assert.equal(gpuRun.length > 0, true, 'needs the previous test');
    await initBackend('webgpu');
    const out = path.join(tmp.dir, 'resumed');
    const ac = new AbortController();
    const first = await trainRun(opts(out), { signal: ac.signal, onMetric: (m) => m.step === 8 && ac.abort() });
    assert.equal(first.status, 'interrupted');
    assert.equal(first.step, 8);
    const second = await resumeRun(out);
    assert.equal(second.status, 'completed');
    const got = losses(second.metrics);
    const want = losses(gpuRun);
    assert.deepEqual(
      second.metrics.filter((m) => m.train_loss !== undefined).map((m) => m.step),
      Array.from({ length: want.length }, (_, i) => i + 1),
    );
    assert.deepEqual(got, want, 'the resumed losses are the uninterrupted ones exactly');
  });
});
