/**
 * Mixed precision on WebGPU (webgpu/kernels-f16.ts, ops-f16.ts), run where the adapter has
 * shader-f16 (Mesa lavapipe does): the f16 conversion against IEEE half rounding, the f16
 * matrix product in its four transpose forms against the cpu backend's float32 product, and
 * the layers' products with their gradients under `f16` against the cpu backend in float32,
 * to tolerances that f16 operands allow (11-bit significands: ~5e-4 relative per operand).
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { affineIO, matmulIO, matmulOI } from '../../electron/engine/models/layers.ts';
import { setMatmulPrecision } from '../../electron/engine/webgpu/ops-f16.ts';
import { webgpuKernelsOn } from '../../electron/engine/webgpu/ops.ts';
import { deviceHas } from '../../electron/engine/webgpu/raw.ts';
import { webgpuOrSkip } from './adapter.ts';
import { seededRandom } from './rand.ts';

const skip = await webgpuOrSkip();

const rand = seededRandom(17);

/** The number an IEEE binary16 bit pattern stands for. */
function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0x1f) return f ? NaN : sign * Infinity;
  return e === 0 ? sign * f * 2 ** -24 : sign * (1 + f / 1024) * 2 ** (e - 15);
}

/** max |a - b| over max(1e-3, max |b|). */
function relErr(a: Float32Array, b: Float32Array): number {
  let err = 0;
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

describe('f16 kernels on webgpu', { skip }, () => {
  after(() => setMatmulPrecision('fp32'));

  test('the device has shader-f16 (the adapter reports it; adapter.ts asks for it)', async () => {
    await initBackend('webgpu');
    assert.ok(deviceHas('shader-f16'));
    assert.ok(webgpuKernelsOn()); // registers Scion's kernels
  });

  test('ScionToF16: round to nearest, beyond 65504 to inf, NaN kept, two per word', async () => {
    await initBackend('webgpu');
    const xs = [0, -0, 1, -2.5, 1 / 3, 65504, 65519, 65520, -1e6, Infinity, NaN, 6e-8, 3e-5, 1e-9, 0.1, 1000.5, 2049, ...rand(101, -300, 300)];
    const x = tf.tensor1d(xs);
    const packed = tf.engine().runKernel('ScionToF16', { x }) as tf.Tensor;
    assert.deepEqual(packed.shape, [Math.ceil(xs.length / 2)]);
    const words = new Uint32Array(((await packed.data()) as Float32Array).buffer.slice(0));
    tf.dispose([x, packed]);
    xs.forEach((v, i) => {
      const got = fromHalf((words[i >> 1]! >>> (i & 1 ? 16 : 0)) & 0xffff);
      const f = Math.fround(v);
      if (Number.isNaN(f)) return assert.ok(Number.isNaN(got), `${v}: NaN`);
      if (Math.abs(f) >= 65520) return assert.equal(got, Math.sign(f) * Infinity, `${v}: overflows to inf`);
      // the nearest half: within half a unit in the last place (2^-11 relative; 2^-25 absolute below 2^-14)
      const ulp = Math.abs(f) < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(Math.abs(f))) - 10);
      assert.ok(Math.abs(got - f) <= ulp / 2, `${v}: got ${got} (ulp ${ulp})`);
    });
  });

  for (const [transA, transB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const)
    test(`ScionMatMulF16 ${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'} (M 37, K 45, N 29, with bias) against cpu float32`, async (t) => {
      const [m, k, n] = [37, 45, 29];
      const a = rand(m * k);
      const b = rand(k * n);
      const bias = rand(n);
      const [as, bs] = [transA ? [k, m] : [m, k], transB ? [n, k] : [k, n]];
      await initBackend('cpu');
      const refT = tf.tidy(() =>
        tf.add(tf.matMul(tf.tensor2d(a, as as [number, number]), tf.tensor2d(b, bs as [number, number]), transA, transB), tf.tensor1d(bias)),
      );
      const ref = (await refT.data()) as Float32Array;
      refT.dispose();
      await initBackend('webgpu');
      const before = tf.memory().numTensors;
      const outT = tf.tidy(() => {
        const a16 = tf.engine().runKernel('ScionToF16', { x: tf.tensor2d(a, as as [number, number]) }) as tf.Tensor;
        const b16 = tf.engine().runKernel('ScionToF16', { x: tf.tensor2d(b, bs as [number, number]) }) as tf.Tensor;
        return tf
          .engine()
          .runKernel('ScionMatMulF16', { a: a16, b: b16, bias: tf.tensor1d(bias) }, { m, n, k, transA, transB } as unknown as tf.NamedAttrMap) as tf.Tensor;
      });
      assert.deepEqual(outT.shape, [m, n]);
      const out = (await outT.data()) as Float32Array;
      outT.dispose();
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      const e = relErr(out, ref);
      t.diagnostic(`f16 product ${transA}/${transB}: relative error ${e.toExponential(2)}`);
      assert.ok(e <= 4e-3, `relative error ${e}`);
      assert.ok(e > 0, 'f16 differs from float32 somewhere (the product really ran in f16)');
    });

  test('ScionToF16 registered', () => assert.ok(tf.getKernel('ScionToF16', 'webgpu')));

  const layers = [
    {
      name: 'x·W',
      fn: (x: tf.Tensor, w: tf.Tensor) => matmulIO(x as tf.Tensor2D, w as tf.Tensor2D),
      shapes: [
        [40, 24],
        [24, 36],
      ],
    },
    {
      name: 'x·Wᵀ',
      fn: (x: tf.Tensor, w: tf.Tensor) => matmulOI(x as tf.Tensor2D, w as tf.Tensor2D),
      shapes: [
        [40, 24],
        [36, 24],
      ],
    },
    {
      name: 'x·W + b',
      fn: (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => affineIO(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
      shapes: [[40, 24], [24, 36], [36]],
    },
  ];
  for (const l of layers)
    test(`${l.name} under f16: value and every gradient against cpu float32`, async (t) => {
      const data = l.shapes.map((s) => rand(s.reduce((a, b) => a * b, 1)));
      const probe = rand(40 * 36);
      const evaluate = async () => {
        const ts = data.map((d, i) => tf.tensor(d, l.shapes[i]));
        const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => tf.sum(tf.mul(l.fn(xs[0]!, xs[1]!, xs[2]), tf.tensor2d(probe, [40, 36]))))(ts);
        const arrays: Float32Array[] = [];
        for (const t of [value, ...grads]) arrays.push((await t.data()) as Float32Array);
        tf.dispose([value, ...grads, ...ts]);
        return arrays;
      };
      await initBackend('cpu');
      const ref = await evaluate();
      await initBackend('webgpu');
      assert.ok(webgpuKernelsOn());
      setMatmulPrecision('f16');
      const before = tf.memory().numTensors;
      let got: Float32Array[];
      const prof = await tf.profile(async () => {
        got = await evaluate();
      });
      setMatmulPrecision('fp32');
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      assert.equal(
        prof.kernels.filter((k) => k.name === 'ScionMatMulF16').length,
        3,
        `one f16 product forward, two backward (ran ${prof.kernelNames.join(', ')})`,
      );
      got!.forEach((a, i) => t.diagnostic(`${l.name} array ${i}: relative error ${relErr(a, ref[i]!).toExponential(2)}`));
      got!.forEach((a, i) => assert.ok(relErr(a, ref[i]!) <= 4e-3, `${i === 0 ? 'value' : `gradient ${i}`}: relative error ${relErr(a, ref[i]!)}`));
    });
});
