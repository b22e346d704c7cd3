/**
 * The embedding's gradient on WebGPU is deterministic (webgpu/kernels-embed.ts): with many
 * repeated tokens, two runs give bit-identical gradients (tfjs's scatter adds with float
 * atomics, whose order depends on scheduling), and they equal the cpu backend's scatter
 * (which adds in position order) to float tolerance. Sizes past one workgroup row of a
 * dispatch: a vocabulary times width above 65535 x 64 threads is split over two dimensions.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { embed } from '../../electron/engine/models/layers.ts';
import { webgpuOrSkip } from './adapter.ts';

const skip = await webgpuOrSkip();

function lcg(n: number, seed: number, f: (u: number) => number): number[] {
  const out: number[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(f(s / 4294967296));
  }
  return out;
}

/** The gradient of sum(embed(table, ids) * probe) with respect to the table [V, D], and the kernels that ran. */
async function tableGrad(vocab: number, dim: number, ids: number[], probe: number[]): Promise<{ grad: Float32Array; kernels: string[] }> {
  const table = tf.zeros([vocab, dim]);
  const idt = tf.tensor1d(ids, 'int32');
  const p = tf.tensor2d(probe, [ids.length, dim]);
  let grad!: Float32Array;
  const prof = await tf.profile(async () => {
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embed(t as tf.Tensor2D, idt), p)))(table);
    grad = (await g.data()) as Float32Array;
    g.dispose();
  });
  tf.dispose([table, idt, p]);
  return { grad, kernels: prof.kernelNames };
}

describe('deterministic embedding gradient on webgpu', { skip }, () => {
  test('4096 positions over 7 of 11 rows: two runs bit-identical, equal to the cpu backend', async () => {
    const [V, D, N] = [11, 64, 4096]; // tfjs's atomic scatter differs from run to run here, on lavapipe too
    const ids = lcg(N, 3, (u) => Math.floor(u * 7)); // rows 7..10 never occur: their gradient is 0
    const probe = lcg(N * D, 9, (u) => (u - 0.5) * 1000); // wide magnitudes: the order of additions shows
    await initBackend('cpu');
    const ref = (await tableGrad(V, D, ids, probe)).grad;
    await initBackend('webgpu');
    const before = tf.memory().numTensors;
    const a = await tableGrad(V, D, ids, probe);
    const b = await tableGrad(V, D, ids, probe);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    assert.deepEqual(new Uint32Array(a.grad.buffer), new Uint32Array(b.grad.buffer), 'two runs are bit-identical');
    assert.ok(a.kernels.includes('ScionEmbedGrad'), `ran ${[...new Set(a.kernels)].join(', ')}`);
    assert.ok(!a.kernels.includes('ScatterNd'), 'no atomic scatter');
    let err = 0;
    let scale = 0;
    for (let i = 0; i < ref.length; i++) {
      err = Math.max(err, Math.abs(a.grad[i]! - ref[i]!));
      scale = Math.max(scale, Math.abs(ref[i]!));
    }
    assert.ok(err <= 1e-6 * scale, `differs from cpu by ${err} (scale ${scale})`);
    for (let v = 7; v < V; v++) for (let c = 0; c < D; c++) assert.equal(a.grad[v * D + c], 0, `row ${v} never occurs`);
  });

  test('vocabulary x width above 65535 workgroups of 64 (the dispatch spills into y)', async () => {
    const [V, D, N] = [70000, 64, 40]; // 4.48M threads: 70000 workgroups
    const ids = lcg(N, 5, (u) => Math.floor(u * V));
    ids[7] = V - 1; // the last row, reached only through the second dispatch dimension
    ids[20] = V - 1;
    const probe = lcg(N * D, 11, (u) => u - 0.5);
    await initBackend('webgpu');
    const { grad } = await tableGrad(V, D, ids, probe);
    for (let c = 0; c < D; c++) {
      let want = 0; // float32 additions in position order
      ids.forEach((id, i) => id === V - 1 && (want = Math.fround(want + Math.fround(probe[i * D + c]!))));
      assert.equal(grad[(V - 1) * D + c], want, `last row, column ${c}`);
    }
  });
});
