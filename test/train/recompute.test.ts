/**
 * Per-block recomputation (--recompute) and the token-chunked head: the loss and every
 * gradient equal plain back-propagation through the whole recorded pass with the logits of
 * the whole batch (the path before both, built here from `forward`), on tiny GPT-2, Llama
 * (GQA, untied head), GPT-NeoX, OPT (post-LN with projections, pre-LN) and Phi-3 configs, with
 * no tensor left behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { nllRows } from '../../electron/engine/eval/loss.ts';
import { chunkedHeadNll } from '../../electron/engine/eval/head-loss.ts';
import { type ModelConfig, PRESETS } from '../../electron/engine/models/config.ts';
import { forward } from '../../electron/engine/models/family.ts';
import { initParams } from '../../electron/engine/train/init.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';
import { lossGradients } from '../../electron/engine/train/loss-gradients.ts';
import { toVariables, type Variables } from '../../electron/engine/train/step.ts';

before(async () => {
  await initBackend();
  await ensureGradients();
});

const NEOX: ModelConfig = {
  family: 'gpt_neox',
  vocabSize: 96,
  hiddenSize: 32,
  intermediateSize: 64,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  maxPositionEmbeddings: 32,
  layerNormEps: 1e-5,
  rotaryPct: 0.5,
  rotaryDims: 4,
  ropeTheta: 10000,
  parallelResidual: true,
  activation: 'gelu',
};
const OPT_POST: ModelConfig = {
  family: 'opt',
  vocabSize: 96,
  hiddenSize: 32,
  ffnDim: 64,
  numHiddenLayers: 2,
  numAttentionHeads: 4,
  maxPositionEmbeddings: 32,
  wordEmbedProjDim: 24,
  doLayerNormBefore: false,
  enableBias: true,
  layerNormElementwiseAffine: true,
  tieWordEmbeddings: true,
  activation: 'relu',
};
const CONFIGS: [string, ModelConfig][] = [
  ['gpt2', { ...PRESETS['gpt2-tiny']!, nLayer: 3, nEmbd: 64, nInner: 128, vocabSize: 200 } as ModelConfig],
  ['llama', { ...PRESETS['llama-tiny']!, numHiddenLayers: 2 } as ModelConfig],
  ['gpt_neox', NEOX],
  ['opt (post-LN, project_in/out, tied)', OPT_POST],
  ['opt (pre-LN, untied)', { ...OPT_POST, doLayerNormBefore: true, wordEmbedProjDim: 32, tieWordEmbeddings: false }],
  [
    'phi3 (fused, partial rotary, window 8)',
    { ...PRESETS['llama-tiny']!, family: 'phi3', numHiddenLayers: 2, fusedProjections: true, rotaryDims: 16, slidingWindow: 8 } as ModelConfig,
  ],
  [
    'gemma',
    {
      ...PRESETS['llama-tiny']!,
      family: 'gemma',
      numHiddenLayers: 2,
      normGainOffset: 1,
      embedScale: true,
      mlpActivation: 'gelu_tanh',
      tieWordEmbeddings: true,
    } as ModelConfig,
  ],
  [
    'gemma3_text',
    {
      ...PRESETS['llama-tiny']!,
      family: 'gemma3_text',
      numHiddenLayers: 2,
      normGainOffset: 1,
      embedScale: true,
      mlpActivation: 'gelu_tanh',
      tieWordEmbeddings: true,
      qkNorm: true,
      sandwichNorm: true,
      queryPreAttnScalar: 24,
      slidingWindow: 4,
      slidingLayers: [true, false],
      ropeLocalTheta: 1000,
    } as ModelConfig,
  ],
  ['olmo', { ...PRESETS['llama-tiny']!, family: 'olmo', numHiddenLayers: 2, nonParametricNorm: true, clipQkv: 0.05 } as ModelConfig],
  ['olmo2', { ...PRESETS['llama-tiny']!, family: 'olmo2', numHiddenLayers: 2, postNorm: true, qkNormFull: true } as ModelConfig],
];

/** The training loss as it was: the whole forward pass recorded, the logits [B*T, V] of the batch at once. */
function plainGradients(cfg: ModelConfig, vars: Variables, inputs: tf.Tensor2D, targets: tf.Tensor2D) {
  const names = Object.keys(vars);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const { logits } = forward(cfg, vars, inputs);
        const [b, t, v] = logits.shape;
        return tf.mean(nllRows(tf.reshape(logits, [b * t, v]) as tf.Tensor2D, tf.reshape(targets, [-1]) as tf.Tensor1D)) as tf.Scalar;
      }),
    names.map((n) => vars[n]!),
  );
  const byName: Record<string, tf.Tensor> = {};
  for (const n of names) byName[n] = grads[vars[n]!.name]!;
  return { value, grads: byName };
}

function batch(cfg: ModelConfig, b: number, t: number, seed: number): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const v = cfg.vocabSize;
  const ids = (k: number) => Array.from({ length: b * t }, (_, i) => (i * 37 + seed * 11 + k * 5) % v);
  return { inputs: tf.tensor2d(ids(0), [b, t], 'int32'), targets: tf.tensor2d(ids(1), [b, t], 'int32') };
}

/** The largest |a - b| relative to the largest |a| of each gradient, over all gradients. */
async function relDiff(a: Record<string, tf.Tensor>, b: Record<string, tf.Tensor>): Promise<{ worst: number; name: string }> {
  let worst = 0;
  let name = '';
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  for (const n of Object.keys(a)) {
    const x = await a[n]!.data();
    const y = await b[n]!.data();
    let scale = 0;
    let d = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(x[i]!));
      d = Math.max(d, Math.abs(x[i]! - y[i]!));
    }
    const r = d / Math.max(scale, 1e-12);
    if (r > worst) [worst, name] = [r, n];
  }
  return { worst, name };
}

for (const [family, cfg] of CONFIGS) {
  test(`${family}: --recompute and the chunked head give the loss and gradients of plain back-propagation (bit for bit in one chunk, 1e-6 in several), no tensor left`, async () => {
    const vars = toVariables(initParams(cfg, 3));
    const { inputs, targets } = batch(cfg, 2, 12, 1);
    try {
      const ref = plainGradients(cfg, vars, inputs, targets);
      const refLoss = (await ref.value.data())[0]!;
      for (const o of [{ headRows: 5 }, { recompute: true }, { recompute: true, headRows: 7 }, {}]) {
        const n0 = tf.memory().numTensors;
        const r = lossGradients(cfg, vars, inputs, targets, undefined, o);
        const loss = (await r.value.data())[0]!;
        assert.equal(loss, refLoss, `${JSON.stringify(o)}: loss`);
        const { worst, name } = await relDiff(ref.grads, r.grads);
        // one chunk (the default at this vocabulary): the same operations in the same order, bit for bit; chunks
        // sum the head's gradient in another order (measured 1.4e-7 to 2.1e-7)
        const bound = o.headRows === undefined ? 0 : 1e-6;
        assert.ok(worst <= bound, `${JSON.stringify(o)}: gradient of ${name} differs by ${worst} (relative to its largest entry)`);
        tf.dispose([r.value, ...Object.values(r.grads)]);
        assert.equal(tf.memory().numTensors, n0, `${JSON.stringify(o)} left tensors behind`);
      }
      tf.dispose([ref.value, ...Object.values(ref.grads)]);
    } finally {
      tf.dispose([inputs, targets, ...Object.values(vars)]);
    }
  });
}

test('chunkedHeadNll: per-row loss and gradients of x and W equal the unchunked head for every chunk size', async () => {
  const n = 11;
  const [d, v] = [8, 30];
  const x = tf.randomNormal([n, d], 0, 1, 'float32', 5) as tf.Tensor2D;
  const w = tf.randomNormal([v, d], 0, 1, 'float32', 6) as tf.Tensor2D;
  const labels = tf.tensor1d(
    Array.from({ length: n }, (_, i) => (i * 7) % v),
    'int32',
  );
  const weights = tf.range(1, n + 1) as tf.Tensor1D; // a non-uniform dy per row
  const loss = (f: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor1D) => (a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D), weights));
  const plain = tf.valueAndGrads(loss((a, b) => nllRows(tf.matMul(a, b, false, true), labels)))([x, w]);
  for (const rows of [1, 3, 11, 64]) {
    const n0 = tf.memory().numTensors;
    const r = tf.valueAndGrads(loss((a, b) => chunkedHeadNll(a, b, labels, rows)))([x, w]);
    const l0 = (await plain.value.data())[0]!;
    assert.ok(Math.abs((await r.value.data())[0]! - l0) <= 1e-6 * Math.abs(l0), `rows ${rows}: loss`);
    const { worst } = await relDiff({ x: plain.grads[0]!, w: plain.grads[1]! }, { x: r.grads[0]!, w: r.grads[1]! });
    assert.ok(worst < 1e-6, `rows ${rows}: gradients differ by ${worst}`);
    tf.dispose([r.value, ...r.grads]);
    assert.equal(tf.memory().numTensors, n0, `rows ${rows} left tensors behind`);
  }
  tf.dispose([x, w, labels, weights, plain.value, ...plain.grads]);
});
