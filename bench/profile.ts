/**
 * Per-op profile of one training step (tf.profile), aggregated by kernel, and a count of the
 * matrix products that ran with a transpose flag (the wasm backend's slow paths).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface OpTime {
  kernel: string;
  ms: number;
  calls: number;
}

export interface StepProfile {
  kernels: number;
  /** Sum of kernel times (nested custom-gradient scopes excluded). */
  kernelMs: number;
  top: OpTime[];
  /** BatchMatMul calls with transposeA or transposeB set. */
  transposedMatMuls: number;
  matMuls: number;
}

/** Runs `fn` with every BatchMatMul on the active backend counted by its transpose flags. */
export function countMatMulFlags<T>(fn: () => T): { result: T; transposed: number; total: number } {
  const backendName = tf.getBackend();
  const original = tf.getKernel('BatchMatMul', backendName);
  if (!original) throw new Error(`no BatchMatMul kernel on ${backendName}`);
  let transposed = 0;
  let total = 0;
  tf.unregisterKernel('BatchMatMul', backendName);
  tf.registerKernel({
    ...original,
    setupFunc: undefined, // already set up when the backend initialised
    kernelFunc: (args) => {
      const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
      total++;
      if (attrs.transposeA || attrs.transposeB) transposed++;
      return original.kernelFunc(args);
    },
  });
  try {
    return { result: fn(), transposed, total };
  } finally {
    tf.unregisterKernel('BatchMatMul', backendName);
    tf.registerKernel(original);
  }
}

export async function profileStep(step: () => Promise<number>, topN = 12): Promise<StepProfile> {
  let counts = { transposed: 0, total: 0 };
  const info = await tf.profile(async () => {
    const c = countMatMulFlags(step);
    await c.result;
    counts = { transposed: c.transposed, total: c.total };
  });
  const agg = new Map<string, OpTime>();
  let kernelMs = 0;
  let kernels = 0;
  for (const k of info.kernels) {
    if (k.name === 'unnamed scope') continue; // custom-gradient wrappers: their inner kernels are listed too
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = k.name === 'BatchMatMul' ? `BatchMatMul ${k.inputShapes.map((s) => `[${s.join(',')}]`).join('x')}` : k.name;
    const a = agg.get(key) ?? { kernel: key, ms: 0, calls: 0 };
    a.ms += ms;
    a.calls++;
    agg.set(key, a);
    kernelMs += ms;
    kernels++;
  }
  const top = [...agg.values()].sort((a, b) => b.ms - a.ms).slice(0, topN);
  return { kernels, kernelMs, top, transposedMatMuls: counts.transposed, matMuls: counts.total };
}
