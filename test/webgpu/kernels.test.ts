/**
 * Every Scion WebGPU kernel (electron/engine/webgpu), forward and gradient, against the cpu
 * backend running the generic forms of the same layers (models/layers.ts, eval/loss.ts):
 * value and every input's gradient of sum(f(...) * probe), from the same random inputs. Each
 * case also checks, from tf.profile, that the webgpu run went through the named kernels (a
 * fallback to the generic form would prove nothing).
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import {
  affineIO,
  causalAttention,
  causalMask,
  causalSelfAttentionQkv,
  embed,
  geluTanh,
  layerNorm,
  matmulIO,
  matmulOI,
  rmsNorm,
  siluMul,
} from '../../electron/engine/models/layers.ts';
import { nllRows } from '../../electron/engine/eval/loss.ts';
import { ropeSplitHeads, ropeTables, rotateHalfMatrix } from '../../electron/engine/models/llama.ts';
import { AdamW, decays } from '../../electron/engine/train/adamw.ts';
import { GROUP } from '../../electron/engine/webgpu/adamw-grouped.ts';
import { startCount, stopCount } from '../../electron/engine/webgpu/counters.ts';
import { webgpuOrSkip } from './adapter.ts';
import { seededRandom } from './rand.ts';

const skip = await webgpuOrSkip();

const randArray = seededRandom(7);

interface Input {
  shape: number[];
  data: Float32Array | Int32Array;
  /** Not differentiated (labels). */
  constant?: boolean;
}
const f = (shape: number[], lo = -1, hi = 1): Input => ({
  shape,
  data: randArray(
    shape.reduce((a, b) => a * b, 1),
    lo,
    hi,
  ),
});

/** Value and gradients (of the non-constant inputs) of sum(fn(...) * probe) on the current backend. */
async function evaluate(fn: (...xs: tf.Tensor[]) => tf.Tensor, inputs: Input[], probe: Float32Array): Promise<{ arrays: Float32Array[]; kernels: string[] }> {
  const ts = inputs.map((x) => tf.tensor(x.data, x.shape, x.data instanceof Int32Array ? 'int32' : 'float32'));
  const vary = ts.filter((_, i) => !inputs[i]!.constant);
  const arrays: Float32Array[] = [];
  const prof = await tf.profile(async () => {
    const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
      let k = 0;
      const all = ts.map((t, i) => (inputs[i]!.constant ? t : xs[k++]!));
      const out = fn(...all);
      return tf.sum(tf.mul(out, tf.tensor(probe, out.shape)));
    })(vary);
    for (const t of [value, ...grads]) arrays.push((await t.data()) as Float32Array);
    tf.dispose([value, ...grads]);
  });
  tf.dispose(ts);
  return { arrays, kernels: prof.kernelNames };
}

interface Case {
  name: string;
  fn: (...xs: tf.Tensor[]) => tf.Tensor;
  inputs: Input[];
  outSize: number;
  kernels: string[];
  tol?: number;
}

const N = 24;
const cases: Case[] = [
  {
    name: 'LayerNorm',
    fn: (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
    inputs: [f([N, 40], -2, 3), f([40], 0.5, 1.5), f([40])],
    outSize: N * 40,
    kernels: ['ScionNorm', 'ScionNormStats', 'ScionNormDx', 'ScionNormDGain', 'ScionColSum'],
  },
  {
    name: 'RMSNorm',
    fn: (x, g) => rmsNorm(x as tf.Tensor2D, g as tf.Tensor1D, 1e-6),
    inputs: [f([N, 36], -2, 3), f([36], 0.5, 1.5)],
    outSize: N * 36,
    kernels: ['ScionNorm', 'ScionNormStats', 'ScionNormDx', 'ScionNormDGain'],
  },
  {
    name: 'SiLU(gate) * up',
    fn: (g, u) => siluMul(g!, u!),
    inputs: [f([N, 20], -6, 6), f([N, 20], -2, 2)],
    outSize: N * 20,
    kernels: ['ScionSiluMul', 'ScionSiluMulGradG', 'ScionSiluMulGradU'],
  },
  {
    name: 'RoPE while splitting heads B2 T6 H3 hd8',
    fn: (x) =>
      tf.tidy(() => {
        const { cos, sin } = ropeTables(6, 8, 10000);
        const rot = rotateHalfMatrix(8);
        return ropeSplitHeads(x as tf.Tensor2D, 3, 2, 6, { cos, sin, rot, rotT: tf.transpose(rot) });
      }),
    inputs: [f([2 * 6, 3 * 8], -2, 2)],
    outSize: 2 * 6 * 3 * 8,
    kernels: ['ScionRope', 'ScionRopeGrad'],
  },
  { name: 'GELU (tanh)', fn: (x) => geluTanh(x!), inputs: [f([N, 20], -4, 4)], outSize: N * 20, kernels: ['ScionGelu', 'ScionGeluGrad'] },
  {
    name: 'affine x·W + b (bias epilogue)',
    fn: (x, w, b) => affineIO(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
    inputs: [f([N, 16]), f([16, 12]), f([12])],
    outSize: N * 12,
    kernels: ['_FusedMatMul', 'ScionColSum'],
  },
  { name: 'x·W', fn: (x, w) => matmulIO(x as tf.Tensor2D, w as tf.Tensor2D), inputs: [f([N, 16]), f([16, 12])], outSize: N * 12, kernels: ['BatchMatMul'] },
  { name: 'x·Wᵀ', fn: (x, w) => matmulOI(x as tf.Tensor2D, w as tf.Tensor2D), inputs: [f([N, 16]), f([12, 16])], outSize: N * 12, kernels: ['BatchMatMul'] },
  {
    name: 'softmax cross-entropy with the label pick',
    fn: (x, l) => nllRows(x as tf.Tensor2D, l as tf.Tensor1D),
    inputs: [f([N, 50], -6, 6), { shape: [N], data: Int32Array.from({ length: N }, (_, i) => (i * 17) % 50), constant: true }],
    outSize: N,
    kernels: ['ScionNll', 'ScionNllGrad'],
  },
  {
    name: 'embedding lookup (repeated ids, an unused row)',
    fn: (t, ids) => embed(t as tf.Tensor2D, ids as tf.Tensor1D),
    inputs: [f([9, 20]), { shape: [N], data: Int32Array.from({ length: N }, (_, i) => (i * i + 3) % 8), constant: true }],
    outSize: N * 20,
    kernels: ['ScionEmbedGrad'],
  },
  ...(
    [
      [2, 4, 4, 8, 12],
      [1, 4, 2, 8, 10],
      [2, 6, 3, 8, 9],
    ] as const
  ).map(([b, h, kvh, hd, t]) => ({
    name: `causal attention B${b} H${h} KV${kvh} hd${hd} T${t}`,
    fn: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => {
      const mask = causalMask(t);
      const out = causalAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, mask);
      mask.dispose();
      return out;
    },
    inputs: [f([b, h, t, hd], -2, 2), f([b, kvh, t, hd], -2, 2), f([b, kvh, t, hd])],
    outSize: b * t * h * hd,
    kernels: ['ScionAttnLse', 'ScionAttn', 'ScionAttnDelta', 'ScionAttnDq', 'ScionAttnDk', 'ScionAttnDv'],
  })),
  {
    name: 'causal attention from the fused q|k|v projection B2 H4 hd8 T12 (one gradient, three dispatches)',
    fn: (qkv: tf.Tensor) => {
      const mask = causalMask(12);
      const out = causalSelfAttentionQkv(qkv as tf.Tensor2D, 2, 12, 4, mask);
      mask.dispose();
      return out;
    },
    inputs: [f([2 * 12, 3 * 4 * 8], -2, 2)],
    outSize: 2 * 12 * 4 * 8,
    kernels: ['ScionAttnLse', 'ScionAttn', 'ScionAttnDelta', 'ScionAttnDq'],
  },
];

describe('WebGPU kernels against the cpu backend', { skip }, () => {
  for (const c of cases)
    test(`${c.name}: value and gradients`, async () => {
      const probe = randArray(c.outSize);
      await initBackend('cpu');
      const ref = await evaluate(c.fn, c.inputs, probe);
      await initBackend('webgpu');
      const before = tf.memory().numTensors;
      const got = await evaluate(c.fn, c.inputs, probe);
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      for (const k of c.kernels) assert.ok(got.kernels.includes(k), `webgpu ran ${k} (ran: ${[...new Set(got.kernels)].join(', ')})`);
      assert.equal(got.arrays.length, ref.arrays.length);
      got.arrays.forEach((a, i) => {
        const r = ref.arrays[i]!;
        assert.equal(a.length, r.length);
        let err = 0;
        let scale = 1e-3;
        for (let j = 0; j < a.length; j++) {
          err = Math.max(err, Math.abs(a[j]! - r[j]!));
          scale = Math.max(scale, Math.abs(r[j]!));
        }
        assert.ok(err <= (c.tol ?? 2e-5) * scale, `${i === 0 ? 'value' : `gradient ${i}`}: differs by ${err} (scale ${scale})`);
      });
    });
});

describe('AdamW in place on WebGPU against the cpu backend', { skip }, () => {
  test('3 steps with weight decay on the matrices, grouped and timed paths: same parameters and moments', async () => {
    // 7 parameters: two dispatches of the grouped update, decaying and not in each
    const shapes: Record<string, number[]> = {
      'h.0.attn.c_attn.weight': [8, 24],
      'h.0.ln_1.bias': [8],
      'wte.weight': [10, 8],
      'h.0.mlp.c_fc.weight': [8, 16],
      'h.0.ln_2.weight': [8],
      'h.0.mlp.c_proj.weight': [16, 8],
      'h.0.mlp.c_proj.bias': [8],
    };
    const init = Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, randArray(s.reduce((a, b) => a * b, 1))]));
    const grads = [0, 1, 2].map(() =>
      Object.fromEntries(
        Object.entries(shapes).map(([n, s]) => [
          n,
          randArray(
            s.reduce((a, b) => a * b, 1),
            -3,
            3,
          ),
        ]),
      ),
    );
    const n = Object.keys(shapes).length;
    /** 3 steps on `backend`; on webgpu checks which in-place path ran (never the generic fallback). */
    const runOn = async (backend: string, timed = false) => {
      await initBackend(backend);
      const vars = Object.fromEntries(
        Object.entries(shapes).map(([name, s]) => {
          const t = tf.tensor(init[name]!, s);
          const v = tf.variable(t, true, `adamw-test-${backend}-${timed}/${name}`);
          t.dispose(); // as toVariables does: the variable is the buffer's only owner
          return [name, v];
        }),
      );
      const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
      const steps = () => {
        for (const g of grads) {
          const gt = Object.fromEntries(Object.entries(shapes).map(([name, s]) => [name, tf.tensor(g[name]!, s)]));
          opt.apply(gt, 1e-2);
          tf.dispose(Object.values(gt));
        }
      };
      if (backend === 'webgpu') startCount();
      if (timed) await tf.time(steps);
      else steps();
      if (backend === 'webgpu') {
        const by = stopCount().byProgram;
        // AdamW groups its parameters by weight decay (train/adamw.ts), one in-place call per group;
        // grouped: GROUP parameters per dispatch; timed (tf.time): a group's moments twice and each parameter once
        const classes = [true, false].map((d) => Object.entries(shapes).filter(([name, s]) => decays(name, s) === d).length).filter((k) => k > 0);
        if (timed) assert.equal(by.get('scion_adam'), 3 * (2 * classes.length + n));
        else assert.equal(by.get('scion_adamw_grouped'), 3 * classes.reduce((a, k) => a + Math.ceil(k / GROUP), 0));
      }
      const out: Float32Array[] = [];
      for (const name of Object.keys(shapes))
        out.push((await vars[name]!.data()) as Float32Array, (await opt.m[name]!.data()) as Float32Array, (await opt.v[name]!.data()) as Float32Array);
      opt.dispose();
      tf.dispose(Object.values(vars));
      return out;
    };
    const ref = await runOn('cpu');
    const before = tf.memory().numTensors;
    for (const timed of [false, true]) {
      const got = await runOn('webgpu', timed);
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      got.forEach((a, i) => {
        let err = 0;
        for (let j = 0; j < a.length; j++) err = Math.max(err, Math.abs(a[j]! - ref[i]![j]!));
        assert.ok(err <= 1e-6, `${timed ? 'timed' : 'grouped'}: array ${i}: differs by ${err}`);
      });
    }
  });
});
