/**
 * Scion's WGSL kernels for training on WebGPU, registered with tfjs (registerKernel on the
 * 'webgpu' backend, called through ops.ts): each replaces a chain of 5-15 generic tfjs
 * kernels (one dispatch each) with one dispatch.
 *   ScionNorm            LayerNorm / RMSNorm forward, one thread per row          [N, D]
 *   ScionNormStats       row mean and 1/std (RMSNorm: mean 0), for the gradient   [N, 2]
 *   ScionNormDx          the input's gradient, one thread per row                 [N, D]
 *   ScionNormDGain       the gain's gradient, one thread per column               [D]
 *   ScionGelu(Grad)      GELU (tanh form) and its gradient, per element
 *   ScionNll(Grad)       softmax cross-entropy with the label pick, per row       [N] / [N, V]
 *   ScionAttn*           causal attention, grouped KV heads, never a [T, T] tensor:
 *                        Lse (row log-sum-exp), Attn (output, in [B*T, H*hd] layout),
 *                        Delta (rowsum dO·O), Dq, Dk, Dv (recomputing probabilities from Lse)
 * Shapes are uniforms; the head dimension is a compile-time constant (per-thread arrays).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { runProgram, type Uniform } from './program.ts';

type KernelArgs = { inputs: Record<string, tf.TensorInfo>; backend: WebGPUBackend; attrs: Record<string, unknown> };
type Kernel = (a: KernelArgs) => tf.TensorInfo;

const f32 = (name: string, value: number): Uniform => ({ name, type: 'f32', value });
const i32 = (name: string, value: number): Uniform => ({ name, type: 'i32', value });

/** Row mean (0 for RMSNorm) and r = 1/sqrt(mean square + eps) of row `index` of X [N, D]. */
function rowStats(rms: boolean): string {
  return `
  let D = uniforms.d; let base = index * D;
  var mean = 0.0;
  ${rms ? '' : 'for (var j = 0; j < D; j++) { mean += X[base + j]; } mean = mean / f32(D);'}
  var q = 0.0;
  for (var j = 0; j < D; j++) { let c = X[base + j] - mean; q += c * c; }
  let r = inverseSqrt(q / f32(D) + uniforms.eps);`;
}

/** LayerNorm (with bias B) or RMSNorm (rms, no mean, no bias) of rows of X [N, D]. */
const norm: Kernel = ({ inputs: { x, g, b }, backend, attrs }) => {
  const rms = attrs['rms'] === true;
  const [n, d] = x.shape as [number, number];
  const body = `${rowStats(rms)}
  for (var j = 0; j < D; j++) { result[base + j] = (X[base + j] - mean) * r * G[j]${rms ? '' : ' + B[j]'}; }`;
  const ins = rms ? [x, g] : [x, g, b!];
  return runProgram(backend, `norm_${rms}`, rms ? ['X', 'G'] : ['X', 'G', 'B'], ins, [n, d], n, [i32('d', d), f32('eps', attrs['eps'] as number)], body);
};

const normStats: Kernel = ({ inputs: { x }, backend, attrs }) => {
  const rms = attrs['rms'] === true;
  const [n, d] = x.shape as [number, number];
  const body = `${rowStats(rms)}
  result[2 * index] = mean;
  result[2 * index + 1] = r;`;
  return runProgram(backend, `normstats_${rms}`, ['X'], [x], [n, 2], n, [i32('d', d), f32('eps', attrs['eps'] as number)], body);
};

/** dx = r (dh - mean(dh) - xh mean(dh xh)) with xh = (x - mean) r, dh = dy g (RMSNorm: no mean(dh) term). */
const normDx: Kernel = ({ inputs: { x, g, dy, stats }, backend, attrs }) => {
  const rms = attrs['rms'] === true;
  const [n, d] = x.shape as [number, number];
  const body = `
  let D = uniforms.d; let base = index * D; let mean = S[2 * index]; let r = S[2 * index + 1];
  var a = 0.0; var b = 0.0;
  for (var j = 0; j < D; j++) { let dh = DY[base + j] * G[j]; a += dh; b += dh * (X[base + j] - mean) * r; }
  a = a / f32(D); b = b / f32(D);
  for (var j = 0; j < D; j++) {
    let xh = (X[base + j] - mean) * r;
    result[base + j] = r * (DY[base + j] * G[j]${rms ? '' : ' - a'} - xh * b);
  }`;
  return runProgram(backend, `normdx_${rms}`, ['X', 'G', 'DY', 'S'], [x, g, dy, stats], [n, d], n, [i32('d', d)], body);
};

/** dgain[j] = sum over rows of dy[i, j] xh[i, j]. */
const normDGain: Kernel = ({ inputs: { x, dy, stats }, backend }) => {
  const [n, d] = x.shape as [number, number];
  const body = `
  let D = uniforms.d; var s = 0.0;
  for (var i = 0; i < uniforms.rows; i++) { s += DY[i * D + index] * (X[i * D + index] - S[2 * i]) * S[2 * i + 1]; }
  result[index] = s;`;
  return runProgram(backend, 'normdgain', ['X', 'DY', 'S'], [x, dy, stats], [d], d, [i32('d', d), i32('rows', n)], body);
};

const GELU_C2 = 2 * Math.sqrt(2 / Math.PI);
const GELU_S = 'let x = X[index]; let s = 1.0 / (1.0 + exp(-(x * (x * x * 0.044715 + 1.0) * uniforms.c2)));';

const gelu: Kernel = ({ inputs: { x }, backend }) =>
  runProgram(backend, 'gelu', ['X'], [x], x.shape, tf.util.sizeFromShape(x.shape), [f32('c2', GELU_C2)], `${GELU_S}\n  result[index] = x * s;`);

const geluGrad: Kernel = ({ inputs: { x, dy }, backend }) =>
  runProgram(
    backend,
    'gelugrad',
    ['X', 'DY'],
    [x, dy],
    x.shape,
    tf.util.sizeFromShape(x.shape),
    [f32('c2', GELU_C2)],
    `${GELU_S}\n  let du = (x * x * (3.0 * 0.044715) + 1.0) * uniforms.c2;\n  result[index] = DY[index] * (s + x * (s * (1.0 - s)) * du);`,
  );

const ROW_LSE = `
  let V = uniforms.v; let base = index * V;
  var m = X[base];
  for (var j = 1; j < V; j++) { m = max(m, X[base + j]); }
  var l = 0.0;
  for (var j = 0; j < V; j++) { l += exp(X[base + j] - m); }`;

/** nll[i] = logsumexp(x[i]) - x[i, label[i]] for logits X [N, V], labels L [N] (int32). */
const nll: Kernel = ({ inputs: { x, labels }, backend }) => {
  const [n, v] = x.shape as [number, number];
  return runProgram(backend, 'nll', ['X', 'L'], [x, labels], [n], n, [i32('v', v)], `${ROW_LSE}\n  result[index] = m + log(l) - X[base + L[index]];`);
};

/** dx[i, j] = dy[i] (softmax(x[i])[j] - [j = label[i]]). */
const nllGrad: Kernel = ({ inputs: { x, labels, dy }, backend }) => {
  const [n, v] = x.shape as [number, number];
  const body = `${ROW_LSE}
  let lab = L[index]; let g = DY[index];
  for (var j = 0; j < V; j++) { result[base + j] = g * (exp(X[base + j] - m) / l - select(0.0, 1.0, j == lab)); }`;
  return runProgram(backend, 'nllgrad', ['X', 'L', 'DY'], [x, labels, dy], [n, v], n, [i32('v', v)], body);
};

/** Index arithmetic of a query-row thread: index = (b H + h) T + i; kb = start of its KV head's rows. */
const QROW = `
  let T = uniforms.t; let H = uniforms.h; let KH = uniforms.kvh;
  let i = index % T; let bh = index / T; let h = bh % H; let b = bh / H;
  let kb = (b * KH + h / (H / KH)) * T * HD; let qo = index * HD; let ob = ((b * T + i) * H + h) * HD;`;
const SCORE = (q: string, k: string) => `var s = 0.0; for (var d = 0; d < HD; d++) { s += Q[${q} + d] * K[${k} + d]; } s = s * uniforms.scale;`;

function attnUniforms(q: tf.TensorInfo, k: tf.TensorInfo, scale: number): Uniform[] {
  return [i32('t', q.shape[2]!), i32('h', q.shape[1]!), i32('kvh', k.shape[1]!), f32('scale', scale)];
}
const hdConst = (q: tf.TensorInfo) => `const HD = ${q.shape[3]!};`;
const rows = (q: tf.TensorInfo) => q.shape[0]! * q.shape[1]! * q.shape[2]!;

/** Row log-sum-exp of the causal scores, online (one pass). Q [B, H, T, hd], K [B, KH, T, hd]. Returns [B*H*T]. */
const attnLse: Kernel = ({ inputs: { q, k }, backend, attrs }) => {
  const body = `${QROW}
  var m = -3.0e38; var l = 0.0;
  for (var j = 0; j <= i; j++) {
    ${SCORE('qo', 'kb + j * HD')}
    if (s > m) { l = l * exp(m - s) + 1.0; m = s; } else { l += exp(s - m); }
  }
  result[index] = m + log(l);`;
  return runProgram(
    backend,
    `attnlse_${q.shape[3]}`,
    ['Q', 'K'],
    [q, k],
    [rows(q)],
    rows(q),
    attnUniforms(q, k, attrs['scale'] as number),
    `${hdConst(q)}${body}`,
  );
};

/** O = softmax(causal scores) V, written as [B*T, H*hd]. */
const attn: Kernel = ({ inputs: { q, k, v, lse }, backend, attrs }) => {
  const [b, h, t, hd] = q.shape as [number, number, number, number];
  const body = `${QROW}
  var acc: array<f32, HD>;
  let lse = LSE[index];
  for (var j = 0; j <= i; j++) {
    ${SCORE('qo', 'kb + j * HD')}
    let p = exp(s - lse);
    for (var d = 0; d < HD; d++) { acc[d] += p * V[kb + j * HD + d]; }
  }
  for (var d = 0; d < HD; d++) { result[ob + d] = acc[d]; }`;
  return runProgram(
    backend,
    `attn_${hd}`,
    ['Q', 'K', 'V', 'LSE'],
    [q, k, v, lse],
    [b * t, h * hd],
    rows(q),
    attnUniforms(q, k, attrs['scale'] as number),
    `${hdConst(q)}${body}`,
  );
};

/** delta[row] = dO[row] · O[row] (both [B*T, H*hd]), indexed like Lse. */
const attnDelta: Kernel = ({ inputs: { q, k, dout, out }, backend }) => {
  const body = `${QROW}
  var s = 0.0; for (var d = 0; d < HD; d++) { s += DO[ob + d] * O[ob + d]; }
  result[index] = s + f32(kb) * 0.0;`;
  return runProgram(backend, `attndelta_${q.shape[3]}`, ['DO', 'O'], [dout, out], [rows(q)], rows(q), attnUniforms(q, k, 0), `${hdConst(q)}${body}`);
};

/** dQ[row] = sum_j p (dO·v_j - delta) scale k_j. */
const attnDq: Kernel = ({ inputs: { q, k, v, lse, dout, delta }, backend, attrs }) => {
  const body = `${QROW}
  var acc: array<f32, HD>;
  let lse = LSE[index]; let dd = DD[index];
  for (var j = 0; j <= i; j++) {
    ${SCORE('qo', 'kb + j * HD')}
    let p = exp(s - lse);
    var dp = 0.0; for (var d = 0; d < HD; d++) { dp += DO[ob + d] * V[kb + j * HD + d]; }
    let ds = p * (dp - dd) * uniforms.scale;
    for (var d = 0; d < HD; d++) { acc[d] += ds * K[kb + j * HD + d]; }
  }
  for (var d = 0; d < HD; d++) { result[qo + d] = acc[d]; }`;
  const names = ['Q', 'K', 'V', 'LSE', 'DO', 'DD'];
  return runProgram(
    backend,
    `attndq_${q.shape[3]}`,
    names,
    [q, k, v, lse, dout, delta],
    q.shape,
    rows(q),
    attnUniforms(q, k, attrs['scale'] as number),
    `${hdConst(q)}${body}`,
  );
};

/** dK or dV of one key row j of KV head g: sums over the group's query heads and the rows i >= j. */
function attnDkv(which: 'k' | 'v'): Kernel {
  return ({ inputs: { q, k, v, lse, dout, delta }, backend, attrs }) => {
    const body = `
  let T = uniforms.t; let H = uniforms.h; let KH = uniforms.kvh; let R = H / KH;
  let j = index % T; let bg = index / T; let g = bg % KH; let b = bg / KH; let ko = index * HD;
  var acc: array<f32, HD>;
  for (var hh = 0; hh < R; hh++) {
    let h = g * R + hh;
    for (var i = j; i < T; i++) {
      let qrow = (b * H + h) * T + i; let qo = qrow * HD; let ob = ((b * T + i) * H + h) * HD;
      ${SCORE('qo', 'ko')}
      let p = exp(s - LSE[qrow]);
      ${
        which === 'v'
          ? 'for (var d = 0; d < HD; d++) { acc[d] += p * DO[ob + d]; }'
          : `var dp = 0.0; for (var d = 0; d < HD; d++) { dp += DO[ob + d] * V[ko + d]; }
      let ds = p * (dp - DD[qrow]) * uniforms.scale;
      for (var d = 0; d < HD; d++) { acc[d] += ds * Q[qo + d]; }`
      }
    }
  }
  for (var d = 0; d < HD; d++) { result[ko + d] = acc[d]; }`;
    const n = k.shape[0]! * k.shape[1]! * k.shape[2]!;
    // dV reads neither V nor delta: a binding the shader does not use must not be passed
    const [names, ins] =
      which === 'k'
        ? [
            ['Q', 'K', 'V', 'LSE', 'DO', 'DD'],
            [q, k, v, lse, dout, delta],
          ]
        : [
            ['Q', 'K', 'LSE', 'DO'],
            [q, k, lse, dout],
          ];
    return runProgram(
      backend,
      `attnd${which}_${q.shape[3]}`,
      names,
      ins as tf.TensorInfo[],
      k.shape,
      n,
      attnUniforms(q, k, attrs['scale'] as number),
      `${hdConst(q)}${body}`,
    );
  };
}

export const KERNELS: Record<string, Kernel> = {
  ScionNorm: norm,
  ScionNormStats: normStats,
  ScionNormDx: normDx,
  ScionNormDGain: normDGain,
  ScionGelu: gelu,
  ScionGeluGrad: geluGrad,
  ScionNll: nll,
  ScionNllGrad: nllGrad,
  ScionAttnLse: attnLse,
  ScionAttn: attn,
  ScionAttnDelta: attnDelta,
  ScionAttnDq: attnDq,
  ScionAttnDk: attnDkv('k'),
  ScionAttnDv: attnDkv('v'),
};

let registered = false;

/** Registers the kernels with tfjs for the 'webgpu' backend (once). */
export function registerScionKernels(): void {
  if (registered) return;
  for (const [kernelName, fn] of Object.entries(KERNELS)) tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: fn as unknown as tf.KernelFunc });
  registered = true;
}
