/**
 * Training a masked-growth (msg) model with `maskRamp` / `--mask-ramp K`: the step-0 val loss is
 * the source's (ramp 0 is exact for Llama); the loss is finite and falls; an interrupted and
 * resumed run gives the same train_loss and val_loss at every step as an uninterrupted one;
 * checkpoints and the final model hold W_eff = W * (M + (1 - M) * min(1, step / K)); a model
 * without a mask file is refused before anything is written.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MASK_FILE, growModelDir } from '../../electron/engine/growth/index.ts';
import { evaluate } from '../../electron/engine/eval/evaluate.ts';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { loadTokenizer } from '../../electron/engine/tokenizer/tokenizer.ts';
import { loadTokens, spreadWindows } from '../../electron/engine/train/data.ts';
import { RAW_WEIGHTS_FILE } from '../../electron/engine/growth/mask-ramp.ts';
import { readMetrics } from '../../electron/engine/train/metrics.ts';
import { type TrainOptions, resolveTrainOptions } from '../../electron/engine/train/options.ts';
import { resumeRun, trainRun } from '../../electron/engine/train/run.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture, useWasm } from '../growth/helpers.ts';
import { makeText } from './tiny.ts';

const LLAMA = fixture('llama-shakespeare-h64-l2');
const SCION = path.join(ROOT, 'bin', 'scion.js');

async function readAll(file: string): Promise<Map<string, Float32Array>> {
  const f = await SafetensorsFile.open(file);
  try {
    const out = new Map<string, Float32Array>();
    for (const n of f.names()) out.set(n, await f.readFloat32(n));
    return out;
  } finally {
    await f.close();
  }
}

describe('train --mask-ramp (masked growth)', () => {
  const tmp = tempDir('scion-msg-train-');
  let grown: string;
  let data: string;
  let opts: (out: string, over?: Partial<TrainOptions>) => TrainOptions;

  before(async () => {
    await useWasm();
    grown = path.join(tmp.dir, 'grown');
    await growModelDir(LLAMA, grown, { method: 'msg', hidden: 96, ffn: 192, layers: 3, depth: 'identity', checkLength: 32 });
    data = makeText(tmp.dir, 12000);
    opts = (out, over = {}) => ({
      model: grown,
      data: `${data}#0-0.9`,
      val: `${data}#0.9-1`,
      out,
      steps: 8,
      batch: 2,
      ctx: 32,
      lr: 3e-3,
      evalEvery: 1,
      evalWindows: 4,
      checkpointEvery: 2,
      keepCheckpoints: 10,
      seed: 4,
      maskRamp: 6,
      ...over,
    });
  });
  after(() => tmp.cleanup());

  test("step-0 val loss is the source model's (ramp 0 is exact); the loss is finite and falls; no tensors leak", async () => {
    const before = tf.memory().numTensors;
    const r = await trainRun(opts(path.join(tmp.dir, 'reference')));
    assert.equal(r.status, 'completed');
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    // the source's val loss on the same windows the run evaluates on
    const source = await loadModel(LLAMA);
    try {
      const tok = await loadTokenizer(LLAMA);
      const ids = spreadWindows(await loadTokens(`${data}#0.9-1`, tok, source.config.vocabSize), 33, 4);
      const s = await evaluate(source, ids, { ctx: 33 });
      assert.ok(Math.abs(r.initialValLoss! - s.loss) <= 1e-5, `masked grown ${r.initialValLoss} vs source ${s.loss}`);
    } finally {
      disposeParams(source.params);
    }
    const train = r.metrics.filter((m) => m.train_loss !== undefined).map((m) => m.train_loss!);
    assert.equal(train.length, 8);
    assert.ok(train.every(Number.isFinite));
    assert.ok(train[7]! < train[0]!, `the loss falls: ${train.join(', ')}`);
    assert.ok(r.finalValLoss! < r.initialValLoss!, `val ${r.initialValLoss} -> ${r.finalValLoss}`);
  });

  test('without --mask-ramp the same model starts elsewhere (the mask is what keeps the function)', async () => {
    const r = await trainRun(opts(path.join(tmp.dir, 'unmasked'), { steps: 1, maskRamp: undefined }));
    const ref = await readMetrics(path.join(tmp.dir, 'reference', 'metrics.jsonl'));
    assert.ok(Math.abs(r.initialValLoss! - ref[0]!.val_loss!) > 1e-3, `unmasked ${r.initialValLoss} vs masked ${ref[0]!.val_loss}`);
  });

  test('checkpoints and the final model hold W_eff; inside the ramp the raw W is saved beside it', async () => {
    const out = path.join(tmp.dir, 'short');
    const r = await trainRun(opts(out, { steps: 3, checkpointEvery: 3, maskRamp: 5, val: undefined }));
    const ckpt = path.join(out, 'checkpoints', 'step-00000003');
    const raw = await readAll(path.join(ckpt, RAW_WEIGHTS_FILE));
    const masks = await readAll(path.join(grown, MASK_FILE));
    const saved = await readAll(path.join(r.finalModel!, 'model.safetensors'));
    const inCkpt = await readAll(path.join(ckpt, 'model', 'model.safetensors'));
    assert.deepEqual([...raw.keys()].sort(), [...masks.keys()].sort());
    const rr = Math.fround(3 / 5);
    let scaled = 0;
    for (const [name, m] of masks) {
      const w = raw.get(name)!;
      const s = saved.get(name)!;
      for (let i = 0; i < w.length; i++) {
        const want = m[i] === 1 ? w[i]! : Math.fround(w[i]! * rr);
        assert.equal(s[i], want, `${name}[${i}]: saved ${s[i]}, W_eff ${want} (W ${w[i]}, M ${m[i]})`);
        if (m[i] === 0 && w[i] !== 0) scaled++;
      }
      assert.deepEqual(inCkpt.get(name), s, `the checkpoint's model is W_eff too (${name})`);
    }
    assert.ok(scaled > 1000, 'new entries are saved scaled by the ramp, not raw');
  });

  test('after the ramp (step >= K) checkpoints need no raw weights and the final model is W', async () => {
    const ref = path.join(tmp.dir, 'reference');
    assert.ok(existsSync(path.join(ref, 'checkpoints', 'step-00000004', RAW_WEIGHTS_FILE)), 'step 4 < K = 6: raw weights saved');
    assert.ok(!existsSync(path.join(ref, 'checkpoints', 'step-00000006', RAW_WEIGHTS_FILE)), 'step 6 = K: W_eff = W');
    assert.deepEqual(
      await readAll(path.join(ref, 'final', 'model.safetensors')),
      await readAll(path.join(ref, 'checkpoints', 'step-00000008', 'model', 'model.safetensors')),
    );
  });

  test('interrupted inside the ramp and resumed: every train_loss and val_loss equals the uninterrupted run', async () => {
    const out = path.join(tmp.dir, 'interrupted');
    const controller = new AbortController();
    const first = await trainRun(opts(out), {
      signal: controller.signal,
      onMetric: (m) => {
        if (m.step === 3) controller.abort();
      },
    });
    assert.equal(first.status, 'interrupted');
    assert.equal(first.step, 3);
    assert.ok(existsSync(path.join(out, 'checkpoints', 'step-00000003', RAW_WEIGHTS_FILE)));
    const logs: string[] = [];
    const second = await resumeRun(out, { onLog: (l) => logs.push(l) });
    assert.equal(second.status, 'completed');
    assert.ok(
      logs.some((l) => /from step 3\b/.test(l)),
      logs.join('\n'),
    );
    const ref = await trainRun(opts(path.join(tmp.dir, 'reference-2')));
    assert.deepEqual(
      second.metrics.map((m) => [m.step, m.train_loss, m.val_loss]),
      ref.metrics.map((m) => [m.step, m.train_loss, m.val_loss]),
    );
    assert.deepEqual(
      await readAll(path.join(out, 'final', 'model.safetensors')),
      await readAll(path.join(tmp.dir, 'reference-2', 'final', 'model.safetensors')),
    );
  });

  test('a model without growth-mask.safetensors is refused before anything is written', async () => {
    const out = path.join(tmp.dir, 'no-mask');
    await assert.rejects(trainRun(opts(out, { model: LLAMA })), (e: Error) => {
      assert.match(e.message, /growth-mask\.safetensors: no growth mask in the model folder.*--method msg/);
      return true;
    });
    assert.ok(!existsSync(out), 'no run folder');
  });

  test('option checks: --mask-ramp needs an integer >= 1 and a pretrained start; the CLI takes the flag', async () => {
    const { config } = await loadModel(grown).then((m) => {
      disposeParams(m.params);
      return m;
    });
    assert.throws(() => resolveTrainOptions(opts('x', { maskRamp: 0 }), config), /--mask-ramp must be an integer >= 1/);
    assert.throws(() => resolveTrainOptions(opts('x', { init: 'scratch' }), config), /--mask-ramp .* needs --init pretrained/);
    const r = spawnSync(
      process.execPath,
      [SCION, 'train', LLAMA, '--data', data, '--steps', '1', '--mask-ramp', '3', '--out', path.join(tmp.dir, 'cli'), '--json'],
      {
        encoding: 'utf8',
        env: { ...process.env, SCION_BACKEND: 'wasm' },
      },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no growth mask in the model folder/);
  });
});
