/**
 * Mixed precision's loss scaler (train/loss-scale.ts) and the refusal of `--precision f16`
 * where it cannot run (webgpu/precision.ts), on any backend: the scaler's rules step by
 * step, the options' checks, and the real CLI refusing f16 on wasm before it writes anything.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { LossScaler } from '../../electron/engine/train/loss-scale.ts';
import { resolveTrainOptions } from '../../electron/engine/train/options.ts';
import { f16Refusal } from '../../electron/engine/webgpu/precision.ts';
import { runScion } from '../helpers/run-command.ts';
import { TINY, tinyFixture } from './tiny.ts';

describe('loss scaler', () => {
  test('halves and skips on overflow, doubles after `every` good steps in a row, an overflow restarts the count', () => {
    const s = new LossScaler({ scale: 1024, good: 0 }, 3);
    const seen: [number, boolean][] = [];
    for (const [i, finite] of [true, true, false, true, true, true, true, false, false].entries()) {
      const u = s.update(finite, i + 1);
      seen.push([s.scale, u.skipped]);
      assert.equal(u.message !== undefined, !finite || s.good === 0, `step ${i + 1}: a change is logged`);
    }
    assert.deepEqual(seen, [
      [1024, false],
      [1024, false],
      [512, true],
      [512, false],
      [512, false],
      [1024, false],
      [1024, false],
      [512, true],
      [256, true],
    ]);
    assert.deepEqual(s.state(), { scale: 256, good: 0 });
  });

  test('the log names the step, the old and the new scale', () => {
    const s = new LossScaler({ scale: 8, good: 0 }, 1);
    assert.equal(s.update(false, 4).message, 'step 4: inf/NaN gradients at loss scale 8: update skipped, scale halved to 4');
    assert.equal(s.update(true, 5).message, 'step 5: no overflow in 1 step in a row: loss scale raised to 8');
  });

  test('a state restored from a checkpoint goes on counting', () => {
    const s = new LossScaler({ scale: 64, good: 2 }, 3);
    assert.equal(s.update(true, 9).skipped, false);
    assert.equal(s.scale, 128);
  });

  test('overflow below a scale of 1 is a divergence, not the scale', () => {
    const s = new LossScaler({ scale: 1, good: 0 }, 10);
    assert.throws(() => s.update(false, 3), /training diverged: the gradients are inf\/NaN at step 3 even at loss scale 1/);
  });

  test('options: f16 records its scaler settings, fp32 records none, bad values are refused', () => {
    const base = { model: 'm', data: 'd.txt', out: 'o', steps: 5 };
    const f16 = resolveTrainOptions({ ...base, precision: 'f16' }, TINY);
    assert.equal(f16.precision, 'f16');
    assert.equal(f16.lossScale, 65536);
    assert.equal(f16.lossScaleEvery, 1000);
    const fp32 = resolveTrainOptions(base, TINY);
    assert.ok(!('precision' in fp32) && !('lossScale' in fp32));
    assert.throws(() => resolveTrainOptions({ ...base, precision: 'f16', lossScale: 1000 }, TINY), /--loss-scale must be a power of two/);
    assert.throws(() => resolveTrainOptions({ ...base, precision: 'f16', lossScaleEvery: 0 }, TINY), /--loss-scale-every must be an integer >= 1/);
    assert.throws(() => resolveTrainOptions({ ...base, lossScale: 1024 }, TINY), /need --precision f16/);
    assert.throws(() => resolveTrainOptions({ ...base, precision: 'bf16' as 'f16' }, TINY), /--precision must be one of fp32, f16/);
    assert.throws(() => resolveTrainOptions({ ...base, precision: 'f16', recompute: true }, TINY), /--precision f16 cannot be combined with --recompute yet/);
  });
});

describe('--precision f16 refused where it cannot run', () => {
  const ok = { backend: 'webgpu', adapter: 'NVIDIA GeForce RTX 4090', adapterF16: true, deviceF16: true, kernels: true };
  test('each missing piece is named', () => {
    assert.equal(f16Refusal(ok), undefined);
    assert.match(f16Refusal({ ...ok, backend: 'wasm' })!, /needs the webgpu backend, and this process runs on wasm/);
    assert.equal(
      f16Refusal({ ...ok, adapter: 'Intel(R) HD Graphics 620', adapterF16: false, deviceF16: false }),
      `needs the WebGPU feature 'shader-f16', which the WebGPU adapter "Intel(R) HD Graphics 620" does not have: train in fp32 (the default)`,
    );
    assert.match(f16Refusal({ ...ok, deviceF16: false })!, /has it but the device was made without it/);
    assert.match(f16Refusal({ ...ok, kernels: false })!, /SCION_WEBGPU_KERNELS=0/);
  });

  const fx = tinyFixture();

  test('the real CLI on wasm: exit 2, the reason, nothing written', () => {
    const out = path.join(fx.dir, 'run');
    const r = runScion(['train', fx.model, '--data', fx.data, '--steps', '2', '--out', out, '--precision', 'f16', '--backend', 'wasm']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--precision f16 needs the webgpu backend, and this process runs on wasm/);
    assert.ok(!existsSync(out), 'nothing written');
  });
});
