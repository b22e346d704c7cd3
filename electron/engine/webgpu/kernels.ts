/**
 * Scion's WGSL kernels for training on WebGPU, registered with tfjs (registerKernel on the
 * 'webgpu' backend, called through ops.ts): each replaces a chain of 5-15 generic tfjs
 * kernels (one dispatch each) with one dispatch.
 *   ScionNorm            LayerNorm / RMSNorm forward, one thread per row          [N, D]
 *   ScionNormStats       row mean and 1/std (RMSNorm: mean 0), for the gradient   [N, 2]
 *   ScionNormDx          the input's gradient, one thread per row                 [N, D]
 *   ScionNormDGain       the gain's gradient, one thread per column               [D]
 *   ScionRope(Grad)      RoPE while splitting heads [B*T, H*hd] -> [B, H, T, hd], and back
 *   ScionColSum          column sums (bias gradients), one thread per column      [D]
 *   ScionSiluMul(Grad*)  Llama's SiLU(gate) * up and its two gradients, per element
 *   ScionGelu(Grad)      GELU (tanh form) and its gradient, per element
 *   ScionNll(Grad)       softmax cross-entropy with the label pick, per row       [N] / [N, V]
 *   ScionAttn*           causal attention (kernels-attention.ts)
 *   ScionEmbedGrad       the embedding's gradient, deterministic (kernels-embed.ts)
 *   ScionToF16, ScionMatMulF16  mixed precision (kernels-f16.ts)
 * Shapes are uniforms; the head dimension is a compile-time constant (per-thread arrays).
 */
import * as tf from '@tensorflow/tfjs-core';
import { ATTENTION_KERNELS } from './kernels-attention.ts';
import { EMBED_KERNELS } from './kernels-embed.ts';
import { F16_KERNELS } from './kernels-f16.ts';
import { f32, i32, runProgram, type Kernel } from './program.ts';

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

/** Column sums of X [N, D] (a bias's gradient), one thread per column: no transpose, one dispatch. */
const colSum: Kernel = ({ inputs: { x }, backend }) => {
  const [n, d] = x.shape as [number, number];
  const body = `
  var s = 0.0;
  for (var i = 0; i < uniforms.rows; i++) { s += X[i * uniforms.d + index]; }
  result[index] = s;`;
  return runProgram(backend, 'colsum', ['X'], [x], [d], d, [i32('d', d), i32('rows', n)], body);
};

/** SiLU(g) * u (Llama's MLP gate) for G and U of one shape. */
const SIG = 'let g = G[index]; let u = U[index]; let sg = 1.0 / (1.0 + exp(-g));';
const siluMul: Kernel = ({ inputs: { g, u }, backend }) =>
  runProgram(backend, 'silumul', ['G', 'U'], [g, u], g.shape, tf.util.sizeFromShape(g.shape), [], `${SIG}\n  result[index] = g * sg * u;`);

/** Its gradient for the gate (which = 'g': dy u sg (1 + g (1 - sg))) or the up projection ('u': dy g sg). */
function siluMulGrad(which: 'g' | 'u'): Kernel {
  const expr = which === 'g' ? 'DY[index] * u * (sg * (1.0 + g * (1.0 - sg)))' : 'DY[index] * (g * sg)';
  return ({ inputs: { g, u, dy }, backend }) =>
    runProgram(backend, `silumul${which}`, ['G', 'U', 'DY'], [g, u, dy], g.shape, tf.util.sizeFromShape(g.shape), [], `${SIG}\n  result[index] = ${expr};`);
}

/**
 * RoPE applied while splitting heads: X [B*T, H*hd] (token-major) to [B, H, T, hd], out =
 * x cos + rotate_half(x) sin, rotate_half(x) = cat(-x2, x1); COS, SIN [T, hd]. One thread per element.
 */
const ROPE_INDEX = `
  let T = uniforms.t; let H = uniforms.h; let HD = uniforms.hd; let half = HD / 2;
  let d = index % HD; let bht = index / HD; let i = bht % T; let bh = bht / T; let h = bh % H; let b = bh / H;
  let tok = ((b * T + i) * H + h) * HD; let c = i * HD + d;`;
const rope: Kernel = ({ inputs: { x, cos, sin }, backend, attrs }) => {
  const [b, t, h, hd] = attrs['shape'] as [number, number, number, number];
  const body = `${ROPE_INDEX}
  let rot = select(X[tok + d - half], -X[tok + d + half], d < half);
  result[index] = X[tok + d] * COS[c] + rot * SIN[c];`;
  return runProgram(backend, 'rope', ['X', 'COS', 'SIN'], [x, cos, sin], [b, h, t, hd], b * t * h * hd, [i32('t', t), i32('h', h), i32('hd', hd)], body);
};

/** Its gradient: DY [B, H, T, hd] to [B*T, H*hd], dx = dy cos + rotate_halfᵀ(dy sin), rotate_halfᵀ(z) = cat(z2, -z1). */
const ropeGrad: Kernel = ({ inputs: { dy, cos, sin }, backend, attrs }) => {
  const [b, t, h, hd] = attrs['shape'] as [number, number, number, number];
  const body = `${ROPE_INDEX}
  let y = index - d;
  let rot = select(-DY[y + d - half] * SIN[c - half], DY[y + d + half] * SIN[c + half], d < half);
  result[tok + d] = DY[index] * COS[c] + rot;`;
  return runProgram(
    backend,
    'ropegrad',
    ['DY', 'COS', 'SIN'],
    [dy, cos, sin],
    [b * t, h * hd],
    b * t * h * hd,
    [i32('t', t), i32('h', h), i32('hd', hd)],
    body,
  );
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

export const KERNELS: Record<string, Kernel> = {
  ScionNorm: norm,
  ScionNormStats: normStats,
  ScionNormDx: normDx,
  ScionNormDGain: normDGain,
  ScionColSum: colSum,
  ScionRope: rope,
  ScionRopeGrad: ropeGrad,
  ScionSiluMul: siluMul,
  ScionSiluMulGradG: siluMulGrad('g'),
  ScionSiluMulGradU: siluMulGrad('u'),
  ScionGelu: gelu,
  ScionGeluGrad: geluGrad,
  ScionNll: nll,
  ScionNllGrad: nllGrad,
  ...ATTENTION_KERNELS,
  ...EMBED_KERNELS,
  ...F16_KERNELS,
};

let registered = false;

/** Registers the kernels with tfjs for the 'webgpu' backend (once). */
export function registerScionKernels(): void {
  if (registered) return;
  for (const [kernelName, fn] of Object.entries(KERNELS)) tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc: fn as unknown as tf.KernelFunc });
  registered = true;
}
