/**
 * Every exact operator on every fixture it applies to, each against an expectation that does
 * not come from our own code: the grown model's logits on the reference probe equal the
 * source's logits as transformers computed them (1e-4 + 1e-4 |logit|), and its loss on the 16
 * reference windows equals the source's reference eval_loss (1e-5). Zero fan-out and identity
 * blocks change nothing (exactly 0); HyperCloning's noise changes the weights by the asked SNR
 * while keeping the function; HyperCloning equals Apple's reference implementation tensor by
 * tensor; clone structure.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type GrowOptions, checkFunctionPreservation, growModelDir, planGrowth } from '../../electron/engine/growth/index.ts';
import { type ModelConfig, parseHFConfig } from '../../electron/engine/models/config.ts';
import { lossAndCorrect } from '../../electron/engine/eval/loss.ts';
import type { Params } from '../../electron/engine/models/params.ts';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { type FixtureName, expectedJson, expectedTensors, fixtureDir } from '../helpers/fixtures.ts';
import { disposeAll, evalWindows, fixture, growInMemory, toParams, useWasm } from './helpers.ts';

const GPT2: FixtureName[] = ['gpt2-random-d64-l2', 'gpt2-shakespeare-d64-l2'];
const LLAMA: FixtureName[] = ['llama-shakespeare-h64-l2'];

interface Case {
  label: string;
  opts: GrowOptions;
  /** The difference must be exactly 0 (zero fan-out, identity blocks). */
  zero?: boolean;
}

const GPT2_CASES: Case[] = [
  { label: 'hypercloning x2', opts: { method: 'hypercloning', widthMult: 2 } },
  { label: 'hypercloning x3, ffn x2, 20 dB noise', opts: { method: 'hypercloning', widthMult: 3, ffnMult: 2, noiseDb: 20, seed: 5 } },
  { label: 'mlp-zero ffn 300', opts: { method: 'mlp-zero', ffn: 300 }, zero: true },
  { label: 'net2net, MLP only', opts: { method: 'net2net', ffn: 384, seed: 3 } },
  { label: 'zero-pad, MLP only', opts: { method: 'zero-pad', ffn: 320 }, zero: true },
  { label: 'identity blocks (depth only), inserted after block 1', opts: { method: 'identity', layers: 4, insertAt: [1] }, zero: true },
  { label: 'hypercloning x2 + identity block at the start', opts: { method: 'hypercloning', widthMult: 2, layers: 3, depth: 'identity', insertAt: [0] } },
];

const LLAMA_CASES: Case[] = [
  { label: 'hypercloning x2', opts: { method: 'hypercloning', widthMult: 2 } },
  { label: 'hypercloning x3, 10 dB noise', opts: { method: 'hypercloning', widthMult: 3, noiseDb: 10, seed: 2 } },
  { label: 'hypercloning heads only x2 (hidden kept)', opts: { method: 'hypercloning', heads: 8 } },
  { label: 'zero-pad hidden 96 (RMSNorm rescaled)', opts: { method: 'zero-pad', hidden: 96 } },
  { label: 'zero-pad hidden 128, heads 8, ffn 300', opts: { method: 'zero-pad', hidden: 128, heads: 8, ffn: 300 } },
  { label: 'mlp-zero ffn 200', opts: { method: 'mlp-zero', ffn: 200 }, zero: true },
  { label: 'add-heads 8 (KV heads 4)', opts: { method: 'add-heads', heads: 8 }, zero: true },
  { label: 'add-heads 8 on 2 KV heads (4 per group)', opts: { method: 'add-heads', heads: 8, kvHeads: 2 }, zero: true },
  { label: 'net2net MLP 200 + heads 16', opts: { method: 'net2net', ffn: 200, heads: 16, seed: 4 } },
  { label: 'identity blocks x2 (depth only), at 0 and 2', opts: { method: 'identity', layers: 4, insertAt: [0, 2] }, zero: true },
  { label: 'zero-pad hidden 96 + identity block', opts: { method: 'zero-pad', hidden: 96, layers: 3, depth: 'identity', insertAt: [1] } },
];

before(useWasm);

/** Logits [N, T, V] of a model on int32 ids [N, T], as a flat array. */
async function logitsOf(config: ModelConfig, params: Params, ids: Int32Array, shape: [number, number]): Promise<Float32Array> {
  const input = tf.tensor2d(ids, shape, 'int32');
  const { logits } = forward(config, params, input);
  try {
    return (await logits.data()) as Float32Array;
  } finally {
    tf.dispose([logits, input]);
  }
}

/** Mean next-token loss over the reference eval windows [16, 128], as transformers computes eval_loss. */
async function referenceWindowLoss(config: ModelConfig, params: Params, ids: Int32Array, [n, t]: [number, number]): Promise<number> {
  const all = tf.tensor2d(ids, [n, t], 'int32');
  const inputs = tf.slice(all, [0, 0], [n, t - 1]) as tf.Tensor2D; // [n, t-1]
  const targets = tf.slice(all, [0, 1], [n, t - 1]) as tf.Tensor2D; // [n, t-1]
  try {
    const { lossSum } = await lossAndCorrect(config, params, inputs, targets);
    return lossSum / (n * (t - 1));
  } finally {
    tf.dispose([all, inputs, targets]);
  }
}

/** rms(a - b) / rms(b) of one tensor. */
function relativeChange(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    s += b[i]! ** 2;
  }
  return Math.sqrt(d / s);
}

for (const [models, cases] of [
  [GPT2, GPT2_CASES],
  [LLAMA, LLAMA_CASES],
] as const) {
  for (const model of models) {
    describe(`exact growth of ${model}`, () => {
      for (const c of cases) {
        test(c.label, async () => {
          const before = tf.memory().numTensors;
          const g = await growInMemory(fixture(model), c.opts);
          assert.equal(g.plan.theory.verdict, 'exact', g.plan.theory.why);
          const exp = await expectedTensors(model);
          const a = toParams(g.source.config, g.source.arrays);
          const b = toParams(g.target, g.grown);
          try {
            // 1. against transformers, not against our own source: the grown model's logits on the
            //    reference probe are the source's reference logits (1e-4 + 1e-4 |logit|) ...
            const got = await logitsOf(g.target, b, exp.probeIds, exp.probeShape);
            assert.equal(got.length, exp.probeLogits.length);
            let worst = 0;
            for (let i = 0; i < got.length; i++)
              worst = Math.max(worst, Math.abs(got[i]! - exp.probeLogits[i]!) / (1e-4 + 1e-4 * Math.abs(exp.probeLogits[i]!)));
            assert.ok(worst <= 1, `grown logits vs the source's reference logits: tolerance ratio ${worst}`);
            // ... and its loss on the 16 reference windows is the source's reference eval_loss (1e-5)
            const loss = await referenceWindowLoss(g.target, b, exp.evalIds, exp.evalShape);
            const ref = expectedJson(model).eval_loss;
            assert.ok(Math.abs(loss - ref) <= 1e-5, `grown eval loss ${loss} vs the source's reference ${ref}`);
            // 2. zero fan-out and identity blocks change nothing at all
            if (c.zero) {
              const mine = await logitsOf(g.source.config, a, exp.probeIds, exp.probeShape);
              assert.equal(
                got.reduce((m, v, i) => Math.max(m, Math.abs(v - mine[i]!)), 0),
                0,
                'zero fan-out / identity blocks must give exactly the source logits',
              );
            }
            // 3. the checker agrees (it is tested to fail on wrong variants in controls.test.ts)
            const r = await checkFunctionPreservation(
              { config: g.source.config, params: a },
              { config: g.target, params: b },
              await evalWindows(fixture(model), 4),
              'exact',
            );
            assert.equal(r.verdict, 'exact', `max |dlogit| ${r.maxAbsLogitDiff}, ratio ${r.worstToleranceRatio}`);
            // 4. symmetry-breaking noise really is there: the weights differ from the noise-free growth
            //    by about the asked signal-to-noise ratio, and (above) the function is kept
            if (c.opts.noiseDb !== undefined) {
              const { noiseDb, ...clean } = c.opts;
              const plain = await growInMemory(fixture(model), clean);
              const want = Math.pow(10, -noiseDb / 20);
              const changed = [...g.grown.keys()]
                .map((name) => ({ name, rel: relativeChange(g.grown.get(name)!, plain.grown.get(name)!) }))
                .filter((x) => x.rel > 0);
              assert.ok(changed.length >= 2 * g.plan.targetDims.layers, `only ${changed.length} tensors carry noise`);
              for (const x of changed)
                assert.ok(x.rel > 0.5 * want && x.rel < 1.5 * want, `${x.name}: relative change ${x.rel}, asked ${want} (${noiseDb} dB)`);
            }
          } finally {
            disposeAll(a);
            disposeAll(b);
          }
          assert.equal(tf.memory().numTensors, before, 'tensor leak');
        });
      }
    });
  }
}

describe('HyperCloning against the reference implementation', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'scion-grow-ref-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  test('llama-shakespeare-h64-l2 x2 equals llama-shakespeare-h64-l2-hypercloned-x2 tensor by tensor (1e-6)', async () => {
    const out = path.join(tmp, 'x2');
    const report = await growModelDir(fixture('llama-shakespeare-h64-l2'), out, { method: 'hypercloning', widthMult: 2, checkLength: 128 });
    assert.equal(report.verdict, 'exact');
    const mine = await SafetensorsFile.open(path.join(out, 'model.safetensors'));
    const ref = await SafetensorsFile.open(path.join(fixture('llama-shakespeare-h64-l2-hypercloned-x2'), 'model.safetensors'));
    try {
      assert.deepEqual(mine.names().sort(), ref.names().sort());
      for (const name of ref.names()) {
        assert.deepEqual(mine.info(name).shape, ref.info(name).shape, name);
        const a = await mine.readFloat32(name);
        const b = await ref.readFloat32(name);
        let worst = 0;
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        assert.ok(worst <= 1e-6, `${name}: max difference ${worst}`);
      }
    } finally {
      await mine.close();
      await ref.close();
    }
  });
});

describe('clone structure', () => {
  for (const [model, opts] of [
    ['gpt2-shakespeare-d64-l2', { method: 'hypercloning', widthMult: 2 }],
    ['llama-shakespeare-h64-l2', { method: 'hypercloning', widthMult: 3, noiseDb: 10 }],
  ] as const) {
    test(`${model} ${JSON.stringify(opts)}: every hidden state is n copies of the source's`, async () => {
      const g = await growInMemory(fixture(model), opts);
      const n = opts.widthMult;
      const a = toParams(g.source.config, g.source.arrays);
      const b = toParams(g.target, g.grown);
      const w = await evalWindows(fixture(model), 1);
      const ids = tf.tensor2d(w.ids, [1, w.length], 'int32');
      const ra = forward(g.source.config, a, ids, { collectHidden: true });
      const rb = forward(g.target, b, ids, { collectHidden: true });
      try {
        assert.equal(ra.hidden!.length, rb.hidden!.length);
        for (let k = 0; k < ra.hidden!.length; k++) {
          const hs = (await ra.hidden![k]!.data()) as Float32Array; // [T, d]
          const hg = (await rb.hidden![k]!.data()) as Float32Array; // [T, n*d]
          const d = hs.length / w.length;
          // GPT-2's tied head: the final LayerNorm is divided by n, so its output is the source's / n.
          const final = k === ra.hidden!.length - 1 && g.target.family === 'gpt2';
          let worst = 0;
          for (let t = 0; t < w.length; t++) {
            for (let c = 0; c < n; c++) {
              for (let j = 0; j < d; j++) {
                const want = hs[t * d + j]! / (final ? n : 1);
                worst = Math.max(worst, Math.abs(hg[t * n * d + c * d + j]! - want) / (1e-4 + 1e-4 * Math.abs(want)));
              }
            }
          }
          assert.ok(worst <= 1, `hidden state ${k}: copies differ from the source (ratio ${worst})`);
        }
      } finally {
        for (const t of [...ra.hidden!, ...rb.hidden!, ra.logits, rb.logits, ids]) t.dispose();
        disposeAll(a);
        disposeAll(b);
      }
    });
  }
});

test('a Llama head count that transformers could not load is refused, with the counts that work', () => {
  const cfg = JSON.parse(readFileSync(path.join(fixtureDir('llama-shakespeare-h64-l2'), 'config.json'), 'utf8')) as unknown;
  assert.throws(() => planGrowth(parseHFConfig(cfg), { method: 'add-heads', heads: 6 }), /hidden 64 is not a multiple of 6 heads.*use --heads 8, 16/);
});
