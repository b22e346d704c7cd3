/**
 * `--precision f16` training on WebGPU (lavapipe has shader-f16): 20 steps of GPT-2 and of
 * Llama whose losses stay within a stated tolerance of the same runs in fp32 on webgpu; the
 * dynamic loss scale at work (an initial scale so large the f16 gradients overflow: steps
 * skipped with no update, the scale halved until they fit; doubling after good steps); a run
 * interrupted and resumed that repeats the uninterrupted one exactly, scaler state included;
 * and the refusal on an adapter without shader-f16, before anything is written.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { currentBackend, initBackend } from '../../electron/engine/backend.ts';
import { readMoments } from '../../electron/engine/train/checkpoint.ts';
import type { MetricLine } from '../../electron/engine/train/metrics.ts';
import type { TrainOptions } from '../../electron/engine/train/options.ts';
import { resumeRun, trainRun } from '../../electron/engine/train/run.ts';
import { matmulPrecision } from '../../electron/engine/webgpu/ops-f16.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText, makeTinyModel, TINY_LLAMA, tinyRun } from '../train/tiny.ts';
import { webgpuOrSkip } from './adapter.ts';

const skip = await webgpuOrSkip();
const STEPS = 20;
/** |f16 loss - fp32 loss| at every step (nats per token; the losses are ~5.5 falling to ~3). */
const LOSS_TOL = 1e-3;

const trained = (m: MetricLine[]) => m.filter((l) => l.train_loss !== undefined);

describe('f16 mixed precision training on webgpu', { skip }, () => {
  const tmp = tempDir();
  let model: string;
  let data: string;
  const opts = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({ ...tinyRun(model, data, out, STEPS), ...extra });
  let f16Run: MetricLine[] = [];

  before(async () => {
    model = await makeTinyModel(tmp.dir);
    data = makeText(tmp.dir, 6000);
    await initBackend('webgpu');
  });
  after(() => tmp.cleanup());

  for (const family of ['gpt2', 'llama'] as const)
    test(`${family}: ${STEPS} steps in f16 follow fp32's losses within ${LOSS_TOL}`, async (t) => {
      const m = family === 'gpt2' ? model : await makeTinyModel(tmp.dir, TINY_LLAMA, 'tiny-llama');
      await initBackend('webgpu');
      const fp32Result = await trainRun({ ...opts(path.join(tmp.dir, `${family}-fp32`)), model: m });
      const fp32 = trained(fp32Result.metrics);
      const logs: string[] = [];
      const r = await trainRun({ ...opts(path.join(tmp.dir, `${family}-f16`), { precision: 'f16' }), model: m }, { onLog: (l) => logs.push(l) });
      assert.equal(matmulPrecision(), 'fp32', 'the products are fp32 again after the run');
      const f16 = trained(r.metrics);
      if (family === 'gpt2') f16Run = r.metrics;
      assert.equal(f16.length, STEPS);
      assert.ok(
        logs.some((l) => l.startsWith('precision f16: matrix products in f16, loss scale 65536')),
        logs.join('\n'),
      );
      let worst = 0;
      f16.forEach((l, i) => {
        assert.equal(l.loss_scale, 65536, `step ${i + 1}: loss scale`);
        assert.equal(l.skipped, undefined, `step ${i + 1}: no overflow at 2^16`);
        const d = Math.abs(l.train_loss! - fp32[i]!.train_loss!);
        worst = Math.max(worst, d);
        assert.ok(d <= LOSS_TOL, `step ${i + 1}: f16 ${l.train_loss} vs fp32 ${fp32[i]!.train_loss}`);
      });
      const differ = f16.filter((l, i) => l.train_loss !== fp32[i]!.train_loss).length;
      assert.ok(differ >= STEPS / 2, `f16 really ran: ${differ} of ${STEPS} losses differ from fp32's`);
      assert.ok(f16[STEPS - 1]!.train_loss! < f16[0]!.train_loss! - 0.3, 'the loss falls');
      // the gradients reach AdamW unscaled: its moments are fp32's (Adam's step hardly shows a scale, its moments do)
      const [a, b] = [
        await readMoments(path.join(fp32Result.checkpoint!, 'optimizer.safetensors')),
        await readMoments(path.join(r.checkpoint!, 'optimizer.safetensors')),
      ];
      let momentErr = 0;
      for (const k of ['m', 'v'] as const)
        for (const name of Object.keys(a[k])) {
          const [x, y] = [a[k][name]!.dataSync(), b[k][name]!.dataSync()];
          const scale = Math.max(1e-12, ...x.map(Math.abs));
          for (let i = 0; i < x.length; i++) momentErr = Math.max(momentErr, Math.abs(x[i]! - y[i]!) / scale);
        }
      tf.dispose([...Object.values(a.m), ...Object.values(a.v), ...Object.values(b.m), ...Object.values(b.v)]);
      assert.ok(momentErr <= 2e-2, `AdamW moments: f16 vs fp32 relative difference ${momentErr}`);
      t.diagnostic(
        `${family}: ${differ} of ${STEPS} losses differ; largest |f16 - fp32| loss over ${STEPS} steps: ${worst.toExponential(2)}, AdamW moments ${momentErr.toExponential(2)} relative (first ${fp32[0]!.train_loss!.toFixed(4)}, last fp32 ${fp32[STEPS - 1]!.train_loss!.toFixed(4)} f16 ${f16[STEPS - 1]!.train_loss!.toFixed(4)})`,
      );
    });

  test('a loss scale too large for f16: overflowing steps skipped (no update), the scale halved until it fits, then doubled after good steps', async (t) => {
    await initBackend('webgpu');
    const logs: string[] = [];
    const out = path.join(tmp.dir, 'overflow');
    const r = await trainRun(opts(out, { precision: 'f16', lossScale: 2 ** 24, lossScaleEvery: 3, steps: 12 }), { onLog: (l) => logs.push(l) });
    const lines = trained(r.metrics);
    const skipped = lines.filter((l) => l.skipped);
    assert.ok(skipped.length >= 1 && lines[0]!.skipped, 'the first step overflows at 2^24');
    assert.ok(
      lines.some((l) => !l.skipped),
      'the scale came down to one that fits',
    );
    // a skipped step changes nothing: AdamW's step count is the applied updates
    const state = JSON.parse(readFileSync(path.join(r.checkpoint!, 'state.json'), 'utf8')) as { optimizerStep: number; lossScale: { scale: number } };
    assert.equal(state.optimizerStep, lines.length - skipped.length);
    // the scale sequence follows the rules: halved after a skipped step, doubled after 3 good ones in a row
    // (after the last step: the checkpoint's scale)
    let good = 0;
    lines.forEach((cur, i) => {
      const next = i + 1 < lines.length ? lines[i + 1]!.loss_scale : state.lossScale.scale;
      if (cur.skipped) {
        good = 0;
        assert.equal(next, cur.loss_scale! / 2, `step ${cur.step}: halved`);
      } else if (++good === 3) {
        good = 0;
        assert.equal(next, cur.loss_scale! * 2, `step ${cur.step}: doubled`);
      } else assert.equal(next, cur.loss_scale, `step ${cur.step}: kept`);
      assert.equal(cur.grad_norm === undefined, cur.skipped === true, `step ${cur.step}: a skipped step has no gradient norm`);
    });
    assert.ok(
      lines.some((l, i) => i > 0 && l.loss_scale! > lines[i - 1]!.loss_scale!),
      'doubled at least once',
    );
    for (const l of skipped)
      assert.ok(
        logs.some((x) => x.startsWith(`step ${l.step}: inf/NaN gradients at loss scale ${l.loss_scale}: update skipped`)),
        `step ${l.step} logged`,
      );
    t.diagnostic(`loss scales: ${lines.map((l) => `${Math.log2(l.loss_scale!)}${l.skipped ? 's' : ''}`).join(' ')} (log2; s = skipped)`);
  });

  test('interrupted at step 8 and resumed: the uninterrupted f16 run exactly, loss scale included', async () => {
    assert.ok(f16Run.length > 0, 'needs the gpt2 test');
    await initBackend('webgpu');
    const out = path.join(tmp.dir, 'resumed');
    const ac = new AbortController();
    const first = await trainRun(opts(out, { precision: 'f16' }), { signal: ac.signal, onMetric: (m) => m.step === 8 && ac.abort() });
    assert.equal(first.step, 8);
    const second = await resumeRun(out);
    assert.equal(second.status, 'completed');
    assert.deepEqual(
      trained(second.metrics).map((m) => [m.step, m.train_loss, m.loss_scale]),
      trained(f16Run).map((m) => [m.step, m.train_loss, m.loss_scale]),
    );
  });

  test('an adapter without shader-f16: refused, naming the adapter and the feature, before anything is written', async () => {
    await initBackend('webgpu');
    const adapter = currentBackend()!.gpuAdapter!;
    const out = path.join(tmp.dir, 'refused');
    adapter.shaderF16 = false; // what `scion info` reports for such an adapter
    try {
      await assert.rejects(trainRun(opts(out, { precision: 'f16' })), (e: Error) =>
        e.message.includes(`needs the WebGPU feature 'shader-f16', which the WebGPU adapter "${adapter.name}" does not have`),
      );
    } finally {
      adapter.shaderF16 = true;
    }
    assert.ok(!existsSync(out), 'nothing written');
    assert.equal(tf.getBackend(), 'webgpu');
  });
});
