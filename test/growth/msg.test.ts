/**
 * Masked growth (msg): the mask file holds 1 where an entry is copied and 0 where it is new;
 * at ramp 0 the masked Llama model is the source's function within the exactness tolerance;
 * at ramp 1 it is the stored (random-pad) model, which is not; GPT-2 at ramp 0 is the zero-pad
 * function (approximate under LayerNorm); growth.json records the mask.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  MASK_FILE,
  APPROX_LOSS_BOUND,
  checkFunctionPreservation,
  disposeMasks,
  effectiveParams,
  growModelDir,
  planGrowth,
  readGrowthMask,
} from '../../electron/engine/growth/index.ts';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';
import { parseHFConfig } from '../../electron/engine/models/config.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import type { Params } from '../../electron/engine/models/params.ts';
import { tempDir } from '../helpers/tmp.ts';
import { evalWindows, fixture, growInMemory, readArrays, useWasm } from './helpers.ts';

const LLAMA = fixture('llama-shakespeare-h64-l2');
const GPT2 = fixture('gpt2-shakespeare-d64-l2');

async function readMaskFile(dir: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const f = await SafetensorsFile.open(path.join(dir, MASK_FILE));
  try {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const n of f.names()) out.set(n, { shape: f.info(n).shape, data: await f.readFloat32(n) });
    return out;
  } finally {
    await f.close();
  }
}

/** The W * M product computed here in plain JS (independent of the engine's mask code). */
function maskedByHand(p: Params, masks: Map<string, { data: Float32Array }>): Params {
  const out: Params = { ...p };
  for (const [name, m] of masks) {
    const w = p[name]!.dataSync();
    out[name] = tf.tensor(
      Float32Array.from(w, (x, i) => x * m.data[i]!),
      p[name]!.shape,
      'float32',
    );
  }
  return out;
}

describe('msg: masked growth', () => {
  const tmp = tempDir('scion-msg-');
  before(useWasm);
  after(() => tmp.cleanup());

  test('mask values: 1 on copied entries, 0 on new ones, on every tensor of a widened and deepened Llama', async () => {
    const out = path.join(tmp.dir, 'llama-96');
    const r = await growModelDir(LLAMA, out, { method: 'msg', hidden: 96, ffn: 200, layers: 3, depth: 'identity', checkLength: 32 });
    assert.equal(r.targetShape.heads, 6);
    assert.equal(r.targetShape.kvHeads, 3);
    const masks = await readMaskFile(out);
    const cell = (name: string, row: number, col: number): number => {
      const m = masks.get(name)!;
      return m.data[row * m.shape[1]! + col]!;
    };
    const expectBlock = (name: string, rows: number, cols: number) => {
      const m = masks.get(name);
      assert.ok(m, `${name} has a mask`);
      const [R, C] = m.shape as [number, number];
      for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) assert.equal(cell(name, i, j), i < rows && j < cols ? 1 : 0, `${name}[${i}, ${j}]`);
    };
    // HF layouts: embeddings [vocab, D]; Linear weights [out, in]; source hidden 64, ffn 128, 4 q heads / 2 KV heads of 16
    expectBlock('model.embed_tokens.weight', 512, 64);
    expectBlock('lm_head.weight', 512, 64);
    for (const b of [0, 1]) {
      expectBlock(`model.layers.${b}.self_attn.q_proj.weight`, 64, 64);
      expectBlock(`model.layers.${b}.self_attn.k_proj.weight`, 32, 64);
      expectBlock(`model.layers.${b}.self_attn.o_proj.weight`, 64, 64);
      expectBlock(`model.layers.${b}.mlp.up_proj.weight`, 128, 64);
      expectBlock(`model.layers.${b}.mlp.down_proj.weight`, 64, 128);
      assert.deepEqual(
        [...masks.get(`model.layers.${b}.input_layernorm.weight`)!.data],
        Array.from({ length: 96 }, (_, j) => (j < 64 ? 1 : 0)),
      );
    }
    // the identity block (after block 1): a copy of block 1 with its residual writers new (all 0)
    expectBlock('model.layers.2.self_attn.q_proj.weight', 64, 64);
    for (const w of ['self_attn.o_proj.weight', 'mlp.down_proj.weight'])
      assert.ok(
        masks.get(`model.layers.2.${w}`)!.data.every((x) => x === 0),
        w,
      );
    assert.equal(masks.size, 30, 'every tensor grows here, so every tensor has a mask');
    assert.equal(r.mask!.tensors, 30);
    let zeros = 0;
    for (const m of masks.values()) for (const x of m.data) if (x === 0) zeros++;
    assert.equal(r.mask!.newEntries, zeros);

    // stored weights: copies equal the source (RMSNorm gains x sqrt(64/96)); new fan-in entries small random
    const src = await readArrays(LLAMA);
    const grown = await readArrays(out);
    const q = grown.arrays.get('model.layers.0.self_attn.q_proj.weight')!;
    const q0 = src.arrays.get('model.layers.0.self_attn.q_proj.weight')!;
    for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) assert.equal(q[i * 96 + j], q0[i * 64 + j]);
    const fresh = Array.from({ length: 64 }, (_, i) => q[i * 96 + 64 + (i % 32)]!);
    assert.ok(fresh.every((x) => x !== 0) && Math.max(...fresh.map(Math.abs)) < 0.2, 'new fan-in entries are small random values');
    const g = grown.arrays.get('model.norm.weight')!;
    const g0 = src.arrays.get('model.norm.weight')!;
    for (let j = 0; j < 64; j++) assert.ok(Math.abs(g[j]! - g0[j]! * Math.sqrt(64 / 96)) < 1e-6);
  });

  test('an MLP-only msg stores only the tensors that grew (all-ones masks are omitted)', async () => {
    const out = path.join(tmp.dir, 'llama-ffn');
    const r = await growModelDir(LLAMA, out, { method: 'msg', ffn: 160, checkLength: 32 });
    const masks = await readMaskFile(out);
    assert.deepEqual(
      [...masks.keys()].sort(),
      [0, 1].flatMap((b) => ['down_proj', 'gate_proj', 'up_proj'].map((p) => `model.layers.${b}.mlp.${p}.weight`)).sort(),
    );
    assert.equal(r.verdict, 'exact');
  });

  test('Llama at ramp 0 equals the source within 1e-4 + 1e-4|logit| (loss to 1e-5); at ramp 1 it is the stored model, which is not exact', async () => {
    const before = tf.memory().numTensors;
    const out = path.join(tmp.dir, 'llama-128');
    const r = await growModelDir(LLAMA, out, { method: 'msg', hidden: 128, heads: 8, ffn: 300, layers: 3, depth: 'identity', checkLength: 128 });
    assert.equal(r.theory.verdict, 'exact', r.theory.why);
    assert.equal(r.verdict, 'exact');
    assert.ok(r.check!.withinExactTolerance, `growModelDir's own check: ${r.check!.maxAbsLogitDiff}`);

    const source = await loadModel(LLAMA);
    const grown = await loadModel(out);
    const windows = await evalWindows(LLAMA, 4);
    const fileMasks = await readMaskFile(out);
    const byHand = maskedByHand(grown.params, fileMasks);
    const masks = await readGrowthMask(out, grown.config);
    const at1 = effectiveParams(grown.params, masks, 1);
    try {
      const c0 = await checkFunctionPreservation(source, { config: grown.config, params: byHand }, windows, 'exact');
      assert.equal(c0.windows, 4);
      assert.equal(c0.length, 128);
      assert.ok(c0.withinExactTolerance, `ramp 0: max |dlogit| ${c0.maxAbsLogitDiff}, ratio ${c0.worstToleranceRatio}`);
      assert.ok(Math.abs(c0.lossGrown - c0.lossSource) <= 1e-5);

      // ramp 1: bitwise the stored weights
      for (const name of Object.keys(grown.params)) {
        assert.deepEqual(at1[name]!.dataSync(), grown.params[name]!.dataSync(), name);
      }
      // and the stored weights alone are not the source's function (the mask is what makes ramp 0 exact)
      const c1 = await checkFunctionPreservation(source, { config: grown.config, params: at1 }, windows, 'exact');
      assert.equal(c1.withinExactTolerance, false, `the unmasked model must fail the exactness check (max |dlogit| ${c1.maxAbsLogitDiff})`);
    } finally {
      for (const [name, t] of Object.entries(byHand)) if (grown.params[name] !== t) t.dispose();
      for (const [name, t] of Object.entries(at1)) if (grown.params[name] !== t) t.dispose();
      disposeMasks(masks);
      disposeParams(source.params);
      disposeParams(grown.params);
    }
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
  });

  test('the stored model is the random-pad model (what the ramp ends at)', async () => {
    const a = await growInMemory(LLAMA, { method: 'msg', hidden: 96, seed: 3 });
    const b = await growInMemory(LLAMA, { method: 'random-pad', hidden: 96, seed: 3 });
    for (const [name, x] of a.grown) assert.deepEqual(x, b.grown.get(name), name);
  });

  test('GPT-2 at ramp 0 is the zero-pad function: approximate under LayerNorm, and reported so', async () => {
    const out = path.join(tmp.dir, 'gpt2-msg');
    const zp = path.join(tmp.dir, 'gpt2-zero-pad');
    const r = await growModelDir(GPT2, out, { method: 'msg', hidden: 96, checkLength: 128 });
    const z = await growModelDir(GPT2, zp, { method: 'zero-pad', hidden: 96, checkLength: 128 });
    assert.equal(r.theory.verdict, 'approximate');
    assert.match(r.theory.why, /LayerNorm/);
    assert.equal(r.verdict, Math.abs(r.check!.lossChange) <= APPROX_LOSS_BOUND ? 'approximate' : 'changes the function');
    assert.ok(Number.isFinite(r.check!.lossGrown));
    assert.ok(Math.abs(r.check!.lossGrown - z.check!.lossGrown) <= 1e-5, `msg at ramp 0 ${r.check!.lossGrown} vs zero-pad ${z.check!.lossGrown}`);
    // an MLP-only GPT-2 msg keeps the function exactly
    const mlp = await growModelDir(GPT2, path.join(tmp.dir, 'gpt2-mlp'), { method: 'msg', ffn: 320, checkLength: 128 });
    assert.equal(mlp.verdict, 'exact');
  });

  test('growth.json records the mask and that the check ran at ramp 0', () => {
    const out = path.join(tmp.dir, 'llama-96');
    const j = JSON.parse(readFileSync(path.join(out, 'growth.json'), 'utf8')) as {
      method: string;
      mask: { file: string; tensors: number; new_entries: number; check_at_ramp: number };
    };
    assert.equal(j.method, 'msg');
    assert.equal(j.mask.file, MASK_FILE);
    assert.equal(j.mask.tensors, 30);
    assert.equal(j.mask.check_at_ramp, 0);
    assert.ok(j.mask.new_entries > 0);
    assert.ok(existsSync(path.join(out, MASK_FILE)));
    assert.ok(!existsSync(path.join(tmp.dir, 'gpt2-zero-pad', MASK_FILE)), 'only msg writes a mask');
  });

  test('msg refuses stacked or interpolated blocks (copies, not new entries)', () => {
    const cfg = parseHFConfig(JSON.parse(readFileSync(path.join(LLAMA, 'config.json'), 'utf8')) as Record<string, unknown>);
    assert.throws(() => planGrowth(cfg, { method: 'msg', hidden: 96, layers: 4, depth: 'stack' }), /msg masks new entries.*--depth identity/);
  });
});

test('the masked forward at ramp 0 leaves the logits of the source positions (full-length window) unchanged', async () => {
  // a direct forward comparison on one 128-token window, independent of the check's loss code
  await useWasm();
  const tmp = tempDir('scion-msg-fwd-');
  try {
    const out = path.join(tmp.dir, 'g');
    await growModelDir(LLAMA, out, { method: 'msg', hidden: 80, heads: 8, checkLength: 16 });
    const source = await loadModel(LLAMA);
    const grown = await loadModel(out);
    const byHand = maskedByHand(grown.params, await readMaskFile(out));
    const w = await evalWindows(LLAMA, 1);
    const ids = tf.tensor2d(w.ids, [1, w.length], 'int32');
    const a = tf.tidy(() => forward(source.config, source.params, ids).logits).dataSync();
    const b = tf.tidy(() => forward(grown.config, byHand, ids).logits).dataSync();
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1e-4 + 1e-4 * Math.abs(a[i]!)));
    assert.ok(worst <= 1, `worst tolerance ratio ${worst}`);
    tf.dispose([ids]);
    for (const [name, t] of Object.entries(byHand)) if (grown.params[name] !== t) t.dispose();
    disposeParams(source.params);
    disposeParams(grown.params);
  } finally {
    tmp.cleanup();
  }
});
