/**
 * AdamW on WebGPU, in place, instead of concatenating every parameter, ~12 element-wise
 * kernels over the flat vector and one slice per parameter: five parameters per dispatch
 * (adamw-grouped.ts), or, under tf.time (which times tfjs programs only), one dispatch for
 * the flat moments and one per parameter writing into the parameter's own buffer. Same float32 arithmetic, in the same order, as AdamW.applyFlat's
 * generic form. In place is only safe for buffers nothing else shares: when a parameter or
 * moment buffer is shared (tfjs refcount above 1) nothing is written and false is returned,
 * so the caller runs the generic form.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { adamwGrouped, type FlatBuffers } from './adamw-grouped.ts';
import { runProgram } from './program.ts';

export interface FlatAdamW extends FlatBuffers {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Bias corrections 1 - beta^t. */
  bc1: number;
  bc2: number;
}

const f = (name: string, value: number) => ({ name, type: 'f32' as const, value });

export function adamwInPlace(a: FlatAdamW): boolean {
  const backend = tf.backend() as WebGPUBackend;
  const cache = backend.tensorMap as unknown as { get(id: object): { values: unknown } };
  if (!a.g.size) return false;
  const targets = [a.m, a.v, ...a.params];
  if (targets.some((t) => backend.refCount(t.dataId) !== 1)) return false;
  if ((backend as unknown as { activeTimers?: unknown }).activeTimers == null) {
    // GROUP parameters per dispatch (adamw-grouped.ts); under tf.time / tf.profile the
    // per-parameter programs below, which tfjs can time
    const { beta1: b1, beta2: b2 } = a;
    adamwGrouped({ ...a, scalars: [a.lr, b1, 1 - b1, b2, 1 - b2, a.bc1, a.bc2, a.eps, 1 - a.lr * a.weightDecay] });
    for (const t of targets) cache.get(t.dataId).values = null;
    return true;
  }
  const total = a.m.size;
  const moment = (name: string, beta: number, square: boolean) =>
    runProgram(
      backend,
      `adam_${name}_${square}`,
      ['G'],
      [a.g],
      [total],
      total,
      [f('beta', beta), f('rest', 1 - beta)],
      `let g = G[index];\n  result[index] = result[index] * uniforms.beta + ${square ? 'g * g' : 'g'} * uniforms.rest;`,
      name === 'm' ? a.m : a.v,
    );
  moment('m', a.beta1, false); // m <- b1 m + (1 - b1) g
  moment('v', a.beta2, true); // v <- b2 v + (1 - b2) g^2
  let off = 0;
  a.params.forEach((p, i) => {
    const decay = a.decays[i]! && a.weightDecay > 0;
    const body = `let k = index + uniforms.off;
  let step = (M[k] / uniforms.bc1) / (sqrt(V[k] / uniforms.bc2) + uniforms.eps);
  let p = result[index]${decay ? ' * uniforms.keep' : ''};
  result[index] = p - step * uniforms.lr;`;
    const uniforms = [
      { name: 'off', type: 'i32' as const, value: off },
      f('bc1', a.bc1),
      f('bc2', a.bc2),
      f('eps', a.eps),
      f('lr', a.lr),
      f('keep', 1 - a.lr * a.weightDecay),
    ];
    runProgram(backend, `adam_p_${decay}`, ['M', 'V'], [a.m, a.v], p.shape, a.sizes[i]!, uniforms, body, p);
    off += a.sizes[i]!;
  });
  for (const t of targets) cache.get(t.dataId).values = null; // a value read back before is stale now
  return true;
}
