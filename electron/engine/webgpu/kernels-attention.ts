/**
 * Causal self-attention on WebGPU with grouped KV heads, never materialising [T, T]:
 *   ScionAttnLse    row log-sum-exp of the scaled scores (online, one pass)      [B*H*T]
 *   ScionAttn       O = softmax(scores) V, written as [B*T, H*hd]
 *   ScionAttnDelta  delta = rowsum(dO · O)                                       [B*H*T]
 *   ScionAttnDq/Dk/Dv  the gradients, probabilities recomputed from the log-sum-exp
 * q, k and v are read through a layout (offset and strides per batch, head and position,
 * as uniforms), so the kernels take either head-major [B, H, T, hd] tensors or GPT-2's fused
 * [B*T, 3D] q|k|v projection as it is (no split, no transposes); the gradients are written in
 * the same layout, into one [B*T, 3D] tensor for the fused case (`into`: dK and dV go into
 * the tensor dQ's dispatch made). The head dimension is a compile-time constant.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { f32, i32, runProgram, type Kernel, type Uniform } from './program.ts';

/** Where q[b, h, i, :] and k/v[b, g, j, :] start: offset + b sB + h sH + i sT (k and v share strides). */
export interface AttnLayout {
  b: number;
  t: number;
  h: number;
  kvh: number;
  hd: number;
  q: [off: number, sB: number, sH: number, sT: number];
  k: [off: number, sB: number, sH: number, sT: number];
  vOff: number;
}

export function headMajorLayout(b: number, h: number, kvh: number, t: number, hd: number): AttnLayout {
  return { b, t, h, kvh, hd, q: [0, h * t * hd, t * hd, hd], k: [0, kvh * t * hd, t * hd, hd], vOff: 0 };
}

/** q|k|v side by side in the rows of [B*T, 3 H hd] (GPT-2's c_attn output). */
export function fusedQkvLayout(b: number, h: number, t: number, hd: number): AttnLayout {
  const w = 3 * h * hd;
  return { b, t, h, kvh: h, hd, q: [0, t * w, hd, w], k: [h * hd, t * w, hd, w], vOff: 2 * h * hd };
}

function uniforms(l: AttnLayout, scale: number): Uniform[] {
  const [qo, qsb, qsh, qst] = l.q;
  const [ko, ksb, ksh, kst] = l.k;
  return [...Object.entries({ t: l.t, h: l.h, kvh: l.kvh, qo, qsb, qsh, qst, ko, ksb, ksh, kst, vo: l.vOff }).map(([n, v]) => i32(n, v)), f32('scale', scale)];
}

const layoutOf = (attrs: Record<string, unknown>) => attrs['layout'] as unknown as AttnLayout;
const scaleOf = (l: AttnLayout) => 1 / Math.sqrt(l.hd);
const rowCount = (l: AttnLayout) => l.b * l.h * l.t;

/** A query-row thread: index = (b H + h) T + i; q at qo, its KV head's rows from kb (+ j kst + ko|vo), output row at ob. */
const QROW = `
  let T = uniforms.t; let H = uniforms.h; let KH = uniforms.kvh;
  let i = index % T; let bh = index / T; let h = bh % H; let b = bh / H;
  let kb = b * uniforms.ksb + (h / (H / KH)) * uniforms.ksh;
  let qo = uniforms.qo + b * uniforms.qsb + h * uniforms.qsh + i * uniforms.qst;
  let ob = ((b * T + i) * H + h) * HD;`;
const SCORE = (kRow: string) =>
  `let kr = ${kRow}; var s = 0.0; for (var d = 0; d < HD; d++) { s += Q[qo + d] * K[uniforms.ko + kr + d]; } s = s * uniforms.scale;`;

function run(
  key: string,
  names: string[],
  inputs: TensorInfo[],
  out: number[],
  threads: number,
  l: AttnLayout,
  body: string,
  backend: Parameters<Kernel>[0]['backend'],
  into?: TensorInfo,
): TensorInfo {
  return runProgram(backend, `${key}_${l.hd}`, names, inputs, out, threads, uniforms(l, scaleOf(l)), `const HD = ${l.hd};${body}`, into);
}

const attnLse: Kernel = ({ inputs: { q, k }, backend, attrs }) => {
  const l = layoutOf(attrs);
  const body = `${QROW}
  var m = -3.0e38; var sum = 0.0;
  for (var j = 0; j <= i; j++) {
    ${SCORE('kb + j * uniforms.kst')}
    if (s > m) { sum = sum * exp(m - s) + 1.0; m = s; } else { sum += exp(s - m); }
  }
  result[index] = m + log(sum);`;
  return run('attnlse', ['Q', 'K'], [q!, k!], [rowCount(l)], rowCount(l), l, body, backend);
};

const attn: Kernel = ({ inputs: { q, k, v, lse }, backend, attrs }) => {
  const l = layoutOf(attrs);
  const body = `${QROW}
  var acc: array<f32, HD>;
  let lse = LSE[index];
  for (var j = 0; j <= i; j++) {
    ${SCORE('kb + j * uniforms.kst')}
    let p = exp(s - lse);
    for (var d = 0; d < HD; d++) { acc[d] += p * V[uniforms.vo + kr + d]; }
  }
  for (var d = 0; d < HD; d++) { result[ob + d] = acc[d]; }`;
  return run('attn', ['Q', 'K', 'V', 'LSE'], [q!, k!, v!, lse!], [l.b * l.t, l.h * l.hd], rowCount(l), l, body, backend);
};

const attnDelta: Kernel = ({ inputs: { dout, out }, backend, attrs }) => {
  const l = layoutOf(attrs);
  const body = `
  let T = uniforms.t; let H = uniforms.h;
  let i = index % T; let bh = index / T; let h = bh % H; let b = bh / H;
  let ob = ((b * T + i) * H + h) * HD;
  var s = 0.0; for (var d = 0; d < HD; d++) { s += DO[ob + d] * O[ob + d]; }
  result[index] = s;`;
  return run('attndelta', ['DO', 'O'], [dout!, out!], [rowCount(l)], rowCount(l), l, body, backend);
};

const GRAD_NAMES = ['Q', 'K', 'V', 'LSE', 'DO', 'DD'];

/** dQ rows (written at q's place in its layout; shape `outShape`). */
const attnDq: Kernel = ({ inputs: { q, k, v, lse, dout, delta }, backend, attrs }) => {
  const l = layoutOf(attrs);
  const body = `${QROW}
  var acc: array<f32, HD>;
  let lse = LSE[index]; let dd = DD[index];
  for (var j = 0; j <= i; j++) {
    ${SCORE('kb + j * uniforms.kst')}
    let p = exp(s - lse);
    var dp = 0.0; for (var d = 0; d < HD; d++) { dp += DO[ob + d] * V[uniforms.vo + kr + d]; }
    let ds = p * (dp - dd) * uniforms.scale;
    for (var d = 0; d < HD; d++) { acc[d] += ds * K[uniforms.ko + kr + d]; }
  }
  for (var d = 0; d < HD; d++) { result[qo + d] = acc[d]; }`;
  return run(
    'attndq',
    GRAD_NAMES,
    [q!, k!, v!, lse!, dout!, delta!],
    attrs['outShape'] as number[],
    rowCount(l),
    l,
    body,
    backend,
    attrs['into'] as TensorInfo | undefined,
  );
};

/** dK or dV of key row j of KV head g: sums over the group's query heads and the rows i >= j. */
function attnDkv(which: 'k' | 'v'): Kernel {
  return ({ inputs: { q, k, v, lse, dout, delta }, backend, attrs }) => {
    const l = layoutOf(attrs);
    const body = `
  let T = uniforms.t; let H = uniforms.h; let KH = uniforms.kvh; let R = H / KH;
  let j = index % T; let bg = index / T; let g = bg % KH; let b = bg / KH;
  let kr = b * uniforms.ksb + g * uniforms.ksh + j * uniforms.kst;
  var acc: array<f32, HD>;
  for (var hh = 0; hh < R; hh++) {
    let h = g * R + hh;
    for (var i = j; i < T; i++) {
      let qrow = (b * H + h) * T + i; let ob = ((b * T + i) * H + h) * HD;
      let qo = uniforms.qo + b * uniforms.qsb + h * uniforms.qsh + i * uniforms.qst;
      var s = 0.0; for (var d = 0; d < HD; d++) { s += Q[qo + d] * K[uniforms.ko + kr + d]; } s = s * uniforms.scale;
      let p = exp(s - LSE[qrow]);
      ${
        which === 'v'
          ? 'for (var d = 0; d < HD; d++) { acc[d] += p * DO[ob + d]; }'
          : `var dp = 0.0; for (var d = 0; d < HD; d++) { dp += DO[ob + d] * V[uniforms.vo + kr + d]; }
      let ds = p * (dp - DD[qrow]) * uniforms.scale;
      for (var d = 0; d < HD; d++) { acc[d] += ds * Q[qo + d]; }`
      }
    }
  }
  for (var d = 0; d < HD; d++) { result[uniforms.${which}o + kr + d] = acc[d]; }`;
    // dV reads neither V nor delta: a binding the shader does not use must not be passed
    const [names, ins] =
      which === 'k'
        ? [GRAD_NAMES, [q!, k!, v!, lse!, dout!, delta!]]
        : [
            ['Q', 'K', 'LSE', 'DO'],
            [q!, k!, lse!, dout!],
          ];
    return run(`attnd${which}`, names, ins, attrs['outShape'] as number[], l.b * l.kvh * l.t, l, body, backend, attrs['into'] as TensorInfo | undefined);
  };
}

export const ATTENTION_KERNELS: Record<string, Kernel> = {
  ScionAttnLse: attnLse,
  ScionAttn: attn,
  ScionAttnDelta: attnDelta,
  ScionAttnDq: attnDq,
  ScionAttnDk: attnDkv('k'),
  ScionAttnDv: attnDkv('v'),
};
