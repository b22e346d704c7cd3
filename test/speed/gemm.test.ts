/**
 * The tiled SIMD matrix product (electron/engine/kernels/gemm-simd.ts), run directly on a
 * memory with every buffer above 2 GiB (where a signed pointer would go wrong): the two-rounding
 * build equals the float32 sum in k order to the bit, the FMA build (relaxed SIMD) stays within
 * float32's error bound of the float64 product; odd rows, K past one block, K = 0, any N and
 * batches; a product and a wider or taller one agree on their common entries to the bit (what
 * growth's exactness needs: a grown model's products are wider than its source's).
 * And on the wasm backend: rank-2 products now run in it (not XNNPACK) and agree with the
 * backend's own kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { gemmModuleBytes, KB, PANEL_BYTES, type GemmSimd } from '../../electron/engine/kernels/gemm-simd.ts';
import { relaxedSimd } from '../../electron/engine/kernels/relaxed-simd.ts';
import { instantiateOnHeap, type WasmMemory } from '../../electron/engine/kernels/simd-kernels.ts';
import { initBackend } from '../../electron/engine/backend.ts';
import { installWasmKernels, uninstallWasmKernels, wasmMatmulKind } from '../../electron/engine/kernels/wasm-kernels.ts';

const onWasm = (process.env['SCION_BACKEND'] ?? 'wasm') === 'wasm';
const HIGH = 2 ** 31 + 4096;
const f = Math.fround;

function floats(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
}

/** [G, M, K, N]: a batch, odd rows, K past one block (and not a multiple of it), one row, K = 0, N not a multiple of 16. */
const SHAPES: [number, number, number, number][] = [
  [1, 37, KB + 44, 50],
  [3, 7, 20, 32],
  [1, 1, 2 * KB + 1, 16],
  [2, 6, 0, 21],
  [1, 64, 128, 128],
  [2, 5, 17, 3],
];

test('gemm with its buffers above 2 GiB: two roundings equal the float32 sum in k order; FMA within the float32 bound', () => {
  const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } }).WebAssembly;
  const memory = new WA.Memory({ initial: HIGH / 65536 + 128 }); // 2 GiB + 8 MiB; untouched pages cost nothing
  const builds: [string, boolean][] = [['two roundings', false]];
  if (relaxedSimd()) builds.push(['relaxed SIMD multiply-add', true]);
  for (const [build, fma] of builds) {
    const k = instantiateOnHeap<GemmSimd>(gemmModuleBytes(fma), memory);
    for (const [G, M, K, N] of SHAPES) {
      const at = { a: HIGH, b: 0, c: 0, panel: 0 };
      at.b = at.a + 4 * G * M * K + 4; // not 16-byte aligned
      at.c = at.b + 4 * G * K * N + 8;
      at.panel = at.c + 4 * G * M * N + 12;
      assert.ok(at.panel + PANEL_BYTES <= memory.buffer.byteLength);
      const A = new Float32Array(memory.buffer, at.a, G * M * K);
      const B = new Float32Array(memory.buffer, at.b, G * K * N);
      const C = new Float32Array(memory.buffer, at.c, G * M * N);
      A.set(floats(A.length, 1 + M));
      B.set(floats(B.length, 2 + N));
      C.fill(Number.NaN); // every entry must be written, K = 0 included
      k.gemm(at.a, at.b, at.c, G, M, K, N, at.panel);
      for (let g = 0; g < G; g++)
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let seq = 0; // float32, in k order
            let exact = 0; // float64
            let bound = 0;
            for (let kk = 0; kk < K; kk++) {
              const p = A[g * M * K + i * K + kk]! * B[g * K * N + kk * N + j]!;
              seq = f(seq + f(p));
              exact += p;
              bound += Math.abs(p);
            }
            const got = C[g * M * N + i * N + j]!;
            const what = `${build}: [${G},${M},${K},${N}] C[${g}][${i}][${j}]`;
            if (!fma) assert.equal(got, seq, what);
            else assert.ok(Math.abs(got - exact) <= K * 2 ** -24 * bound + 1e-30, `${what}: ${got} vs ${exact}`);
          }
    }
  }
});

test('gemm: each entry is the same whatever the width and height around it (both builds)', () => {
  const WA = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } }).WebAssembly;
  const memory = new WA.Memory({ initial: 64 });
  for (const fma of relaxedSimd() ? [false, true] : [false]) {
    const k = instantiateOnHeap<GemmSimd>(gemmModuleBytes(fma), memory);
    const K = KB + 3;
    const A = floats(5 * K, 7);
    const Bw = floats(K * 70, 8); // [K, 70]
    /** C = A[:m] B[:, :n] (B's first n columns), read back. */
    const product = (m: number, n: number): Float32Array => {
      const h = new Float32Array(memory.buffer);
      h.set(A.subarray(0, m * K), 0);
      for (let kk = 0; kk < K; kk++) h.set(Bw.subarray(kk * 70, kk * 70 + n), m * K + kk * n);
      const c = 4 * (m * K + K * n);
      k.gemm(0, 4 * m * K, c, 1, m, K, n, c + 4 * m * n);
      return Float32Array.from(new Float32Array(memory.buffer, c, m * n));
    };
    const wide = product(5, 70);
    for (const [m, n] of [
      [5, 64],
      [5, 5],
      [4, 37],
      [3, 16],
      [1, 70],
    ] as const) {
      const narrow = product(m, n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) assert.equal(narrow[i * n + j], wide[i * 70 + j], `fma ${fma}: [${m}, ${n}] entry (${i}, ${j}) differs from [5, 70]'s`);
    }
  }
});

test('on the wasm backend, rank-2 products run in gemm and agree with the backend own kernel', { skip: !onWasm && 'wasm only' }, async () => {
  await initBackend('wasm');
  assert.notEqual(wasmMatmulKind(), 'xnnpack', 'the tiled product is installed');
  const before = { tensors: tf.memory().numTensors, data: tf.engine().backend.numDataIds() };
  for (const [sa, sb] of [
    [
      [37, 300],
      [300, 48],
    ],
    [
      [512, 128],
      [128, 384],
    ],
    [
      [2, 5, 40],
      [2, 40, 16],
    ],
    [
      [9, 33],
      [33, 50257 % 64],
    ],
    [
      [2, 5, 40],
      [40, 24],
    ], // a rank-2 B times A's rows, whatever A's leading axes
  ]) {
    const a = tf.tensor(
      floats(
        sa.reduce((x, y) => x * y, 1),
        5,
      ),
      sa,
    );
    const b = tf.tensor(
      floats(
        sb.reduce((x, y) => x * y, 1),
        6,
      ),
      sb,
    );
    uninstallWasmKernels();
    const ref = tf.matMul(a, b);
    assert.equal(wasmMatmulKind(), 'xnnpack');
    installWasmKernels();
    const fast = tf.matMul(a, b);
    const r = (await ref.data()) as Float32Array;
    const x = (await fast.data()) as Float32Array;
    let worst = 0;
    for (let i = 0; i < r.length; i++) worst = Math.max(worst, Math.abs(r[i]! - x[i]!));
    assert.ok(worst <= 1e-5 * Math.sqrt(sa[sa.length - 1]!), `${sa} x ${sb}: differs by ${worst}`);
    tf.dispose([a, b, ref, fast]);
  }
  assert.equal(tf.memory().numTensors, before.tensors, 'no tensor left');
  assert.equal(tf.engine().backend.numDataIds(), before.data, 'no buffer left');
});
