/**
 * Llama (`LlamaForCausalLM`), as Hugging Face `transformers` computes it: RMSNorm, rotary
 * position embeddings (RoPE, default type, `rope_theta`), grouped-query attention (KV heads
 * repeated to the query heads), SwiGLU MLP, untied (or tied) head. Linear weights are in the
 * torch layout [out, in]. References: Touvron et al. 2023; transformers `modeling_llama.py`.
 * The same decoder runs the Llama-shaped families with their switches: Qwen2's q/k/v biases
 * (qwen2.ts), Qwen3's per-head q/k RMSNorm (qwen3.ts), Mistral's sliding window (mistral.ts),
 * Phi-3's fused qkv_proj / gate_up_proj and partial rotary (phi3.ts),
 * Gemma's (1 + weight) norms, GeGLU and sqrt(d) embedding scale (gemma.ts), OLMo's weightless
 * LayerNorm and clip_qkv (olmo.ts), OLMo2's post-sublayer norms and full-width q/k norm (olmo2.ts),
 * Gemma 3's sandwich norms, query_pre_attn_scalar and per-layer sliding windows with their own RoPE base (gemma3.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Llama3RopeScaling, LlamaConfig } from './config.ts';
import { ropeHeads as webgpuRopeHeads, webgpuKernelsOn } from '../webgpu/ops.ts';
import { requireValue } from './config-fields.ts';
import { type FamilyConfigSpec, decoderHF, parseDecoder } from './decoder-config.ts';
import { causalAttention, causalMask, customOp, embed, geluTanh, layerNorm, matmulConst, matmulOI, rmsNorm, siluMul, splitHeads } from './layers.ts';
import { perOpOn } from '../kernels/per-op.ts';
import { OLMO_LAYER_NORM_EPS } from './olmo.ts';
import { type DecoderStages, namesUnder, runStages } from './stages.ts';
import { type ForwardOptions, type ForwardResult, type Params, type TensorSpec, param } from './params.ts';

export const llamaFamily: FamilyConfigSpec<LlamaConfig> = {
  family: 'llama',
  name: 'Llama',
  architecture: 'LlamaForCausalLM',
  modelType: 'llama',
  parse(raw, file) {
    requireValue(raw, file, 'attention_bias', [false], 'attention biases are not implemented');
    requireValue(raw, file, 'mlp_bias', [false], 'MLP biases are not implemented');
    requireValue(raw, file, 'pretraining_tp', [1], 'only pretraining_tp = 1 is implemented');
    return parseDecoder(raw, file, 'llama', { rmsNormEps: 1e-6, maxPositionEmbeddings: 2048 });
  },
  toHF: (cfg, base) => ({ ...decoderHF(cfg, base, 'LlamaForCausalLM', 'llama'), attention_bias: false, mlp_bias: false }),
};

export function llamaTensorSpecs(c: LlamaConfig): TensorSpec[] {
  const d = c.hiddenSize;
  const qd = c.numAttentionHeads * c.headDim;
  const kvd = c.numKeyValueHeads * c.headDim;
  const norm = (name: string): TensorSpec[] => (c.nonParametricNorm ? [] : [{ name, shape: [d] }]); // OLMo's norms have no tensors
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, d] }];
  const f = c.intermediateSize;
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `model.layers.${i}.`;
    specs.push(
      ...(c.postNorm ? [] : norm(p + 'input_layernorm.weight')),
      ...(c.fusedProjections
        ? [{ name: p + 'self_attn.qkv_proj.weight', shape: [qd + 2 * kvd, d] }]
        : [
            { name: p + 'self_attn.q_proj.weight', shape: [qd, d] },
            { name: p + 'self_attn.k_proj.weight', shape: [kvd, d] },
            { name: p + 'self_attn.v_proj.weight', shape: [kvd, d] },
          ]),
      ...(c.qkvBias
        ? [
            { name: p + 'self_attn.q_proj.bias', shape: [qd] },
            { name: p + 'self_attn.k_proj.bias', shape: [kvd] },
            { name: p + 'self_attn.v_proj.bias', shape: [kvd] },
          ]
        : []),
      ...(c.qkNorm
        ? [
            { name: p + 'self_attn.q_norm.weight', shape: [c.headDim] },
            { name: p + 'self_attn.k_norm.weight', shape: [c.headDim] },
          ]
        : []),
      ...(c.qkNormFull
        ? [
            { name: p + 'self_attn.q_norm.weight', shape: [qd] },
            { name: p + 'self_attn.k_norm.weight', shape: [kvd] },
          ]
        : []),
      { name: p + 'self_attn.o_proj.weight', shape: [d, qd] },
      ...norm(p + 'post_attention_layernorm.weight'),
      ...(c.sandwichNorm ? norm(p + 'pre_feedforward_layernorm.weight') : []),
      ...(c.fusedProjections
        ? [{ name: p + 'mlp.gate_up_proj.weight', shape: [2 * f, d] }]
        : [
            { name: p + 'mlp.gate_proj.weight', shape: [f, d] },
            { name: p + 'mlp.up_proj.weight', shape: [f, d] },
          ]),
      { name: p + 'mlp.down_proj.weight', shape: [d, f] },
      ...(c.postNorm || c.sandwichNorm ? norm(p + 'post_feedforward_layernorm.weight') : []),
    );
  }
  specs.push(...norm('model.norm.weight'));
  if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, d] });
  return specs;
}

export function llamaIgnoredTensor(name: string, c: LlamaConfig): boolean {
  return /rotary_emb\.inv_freq$/.test(name) || (c.tieWordEmbeddings && name === 'lm_head.weight');
}

export function llamaCanonicalName(name: string): string {
  return name.startsWith('model.') || name === 'lm_head.weight' ? name : 'model.' + name;
}

/**
 * RoPE's inverse frequencies 1 / theta^(2j/hd), with Llama 3's scaling when configured: long
 * wavelengths divided by `factor`, short ones kept, the band between interpolated smoothly.
 */
export function ropeInvFreq(hd: number, theta: number, scaling?: Llama3RopeScaling): Float64Array {
  const out = new Float64Array(hd / 2);
  for (let j = 0; j < hd / 2; j++) {
    const base = Math.fround(1 / Math.pow(theta, (2 * j) / hd));
    if (!scaling) {
      out[j] = base;
      continue;
    }
    const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: ctx0 } = scaling;
    const wavelen = (2 * Math.PI) / base;
    if (wavelen < ctx0 / highFreqFactor) out[j] = base;
    else if (wavelen > ctx0 / lowFreqFactor) out[j] = base / factor;
    else {
      const smooth = (ctx0 / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      out[j] = (1 - smooth) * (base / factor) + smooth * base;
    }
    out[j] = Math.fround(out[j]!);
  }
  return out;
}

/** cos and sin tables [T, hd] as HF builds them: cat(freqs, freqs) with freqs = pos * inv_freq. */
export function ropeTables(t: number, hd: number, theta: number, scaling?: Llama3RopeScaling): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const cos = new Float32Array(t * hd);
  const sin = new Float32Array(t * hd);
  const half = hd / 2;
  const inv = ropeInvFreq(hd, theta, scaling);
  for (let j = 0; j < half; j++) {
    const invFreq = inv[j]!;
    for (let pos = 0; pos < t; pos++) {
      const angle = Math.fround(pos * invFreq);
      cos[pos * hd + j] = cos[pos * hd + j + half] = Math.cos(angle);
      sin[pos * hd + j] = sin[pos * hd + j + half] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [t, hd]), sin: tf.tensor2d(sin, [t, hd]) };
}

/** The [hd, hd] matrix R with x · R = rotate_half(x) = cat(-x2, x1). */
export function rotateHalfMatrix(hd: number): tf.Tensor2D {
  const r = new Float32Array(hd * hd);
  const h = hd / 2;
  for (let j = 0; j < h; j++) {
    r[(j + h) * hd + j] = -1;
    r[j * hd + j + h] = 1;
  }
  return tf.tensor2d(r, [hd, hd]);
}

/** Applies RoPE to x [B, H, T, hd]; `rotT` is rotᵀ (= -rot), for the gradient. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D, rot: tf.Tensor2D, rotT: tf.Tensor2D): tf.Tensor4D {
  const [b, h, t, hd] = x.shape;
  const rows = (z: tf.Tensor) => tf.reshape(z, [b * h * t, hd]) as tf.Tensor2D; // [B*H*T, hd]
  if (!perOpOn()) {
    const rotated = tf.reshape(matmulConst(rows(x), rot, rotT), [b, h, t, hd]); // [B, H, T, hd]
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  }
  // One tape node: y = x cos + (x R) sin, dx = dy cos + (dy sin) Rᵀ. The tables are saved
  // (kept) for the backward pass: the caller's tidy may dispose the originals.
  const f = customOp((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    save([cos, sin, rotT]);
    return {
      value: tf.add(tf.mul(xi, cos), tf.mul(tf.reshape(tf.matMul(rows(xi), rot), [b, h, t, hd]), sin)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sc, ss, srt] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        return [tf.add(tf.mul(dy, sc), tf.reshape(tf.matMul(rows(tf.mul(dy, ss)), srt), [b, h, t, hd]))];
      },
    };
  });
  return f(x) as tf.Tensor4D;
}

/** RoPE tables and rotate-half matrices for `rd` rotary dims (applyRope's arguments). */
export interface RopeTables {
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  rot: tf.Tensor2D;
  rotT: tf.Tensor2D;
}

/**
 * RoPE on the first `rd` dims of each head of z [B, H, T, hd], the other hd - rd dims passed
 * through (GPT-NeoX's rotary_pct, Phi-3's partial_rotary_factor); `r` built for rd dims.
 */
export function applyPartialRope(z: tf.Tensor4D, rd: number, r: RopeTables): tf.Tensor4D {
  const hd = z.shape[3];
  if (rd === 0) return z;
  if (rd === hd) return applyRope(z, r.cos, r.sin, r.rot, r.rotT);
  const [zr, zp] = tf.split(z, [rd, hd - rd], 3) as [tf.Tensor4D, tf.Tensor4D];
  return tf.concat([applyRope(zr, r.cos, r.sin, r.rot, r.rotT), zp], 3);
}

/** x [B*T, heads*hd] split into heads [B, heads, T, hd] with RoPE applied (one kernel on WebGPU). */
export function ropeSplitHeads(
  x: tf.Tensor2D,
  heads: number,
  b: number,
  t: number,
  r: { cos: tf.Tensor2D; sin: tf.Tensor2D; rot: tf.Tensor2D; rotT: tf.Tensor2D },
): tf.Tensor4D {
  if (webgpuKernelsOn()) return webgpuRopeHeads(x, r.cos, r.sin, b, t, heads);
  return applyRope(splitHeads(x, b, t, heads, x.shape[1] / heads), r.cos, r.sin, r.rot, r.rotT);
}

/** RMSNorm over each head's elements (Qwen3's q_norm / k_norm): x [N, heads*hd] with weight [hd]. Returns [N, heads*hd]. */
function headNorm(x: tf.Tensor2D, weight: tf.Tensor1D, hd: number, eps: number): tf.Tensor2D {
  const [n, width] = x.shape;
  return tf.reshape(rmsNorm(tf.reshape(x, [-1, hd]) as tf.Tensor2D, weight, eps), [n, width]); // via [N*heads, hd]
}

/**
 * The family's norm over the last axis of x [N, D]: RMSNorm with gain `weight` (Gemma: 1 +
 * weight, in float32 as transformers), or OLMo's LayerNorm without weight or bias (`ones`,
 * `zeros` [D] stand in for them). Returns [N, D].
 */
function familyNorm(c: LlamaConfig, x: tf.Tensor2D, weight: () => tf.Tensor1D, plain: { ones: tf.Tensor1D; zeros: tf.Tensor1D }): tf.Tensor2D {
  if (c.nonParametricNorm) return layerNorm(x, plain.ones, plain.zeros, OLMO_LAYER_NORM_EPS);
  return rmsNorm(x, c.normGainOffset ? (tf.add(weight(), c.normGainOffset) as tf.Tensor1D) : weight(), c.rmsNormEps);
}

/** The stages of the Llama-shaped forward pass over token ids [B, T] (stages.ts). */
export function llamaStages(c: LlamaConfig, p: Params, ids: tf.Tensor2D): DecoderStages {
  const [b, t] = ids.shape;
  const hd = c.headDim;
  // Mistral: every layer sliding; Gemma 3: the layers `slidingLayers` names (their own RoPE base), the others full
  const slides = (i: number) => c.slidingWindow !== undefined && (c.slidingLayers?.[i] ?? true);
  const windowed = c.slidingWindow !== undefined && c.slidingWindow < t; // the window masks something
  const mask = causalMask(t, c.slidingWindow); // [T, T]
  const fullMask = c.slidingLayers ? causalMask(t) : mask; // [T, T]
  const rd = c.rotaryDims ?? hd; // Phi-3's partial rotary: the first rd dims of each head rotate
  const { cos, sin } = ropeTables(t, rd, c.ropeTheta, c.ropeScaling);
  const local = c.ropeLocalTheta !== undefined ? ropeTables(t, rd, c.ropeLocalTheta) : { cos, sin };
  const rot = rotateHalfMatrix(rd);
  const rotT = tf.transpose(rot); // [rd, rd]
  const ropeHeads = (x: tf.Tensor2D, heads: number, i: number) => {
    const tables = { ...(slides(i) ? local : { cos, sin }), rot, rotT };
    return rd === hd ? ropeSplitHeads(x, heads, b, t, tables) : applyPartialRope(splitHeads(x, b, t, heads, hd), rd, tables);
  };
  // causalAttention scales by head_dim^-1/2; Gemma 3's query_pre_attn_scalar^-1/2 is that times this factor on q
  const qScale = c.queryPreAttnScalar !== undefined && c.queryPreAttnScalar !== hd ? Math.sqrt(hd / c.queryPreAttnScalar) : 1;
  const qd = c.numAttentionHeads * hd;
  const kvd = c.numKeyValueHeads * hd;
  const plain = { ones: tf.ones([c.hiddenSize]) as tf.Tensor1D, zeros: tf.zeros([c.hiddenSize]) as tf.Tensor1D }; // OLMo's LayerNorm has no weight or bias
  const norm = (z: tf.Tensor2D, name: string) => familyNorm(c, z, () => param(p, name) as tf.Tensor1D, plain);
  return {
    layers: c.numHiddenLayers,
    embedParams: ['model.embed_tokens.weight'],
    blockParams: (i) => namesUnder(p, `model.layers.${i}.`),
    finalParams: c.nonParametricNorm ? [] : ['model.norm.weight'],
    head: c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
    embed: () =>
      tf.tidy(() => {
        const x = embed(param(p, 'model.embed_tokens.weight') as tf.Tensor2D, tf.reshape(ids, [-1]) as tf.Tensor1D); // [B*T, D]
        return c.embedScale ? (tf.mul(x, Math.fround(Math.sqrt(c.hiddenSize))) as tf.Tensor2D) : x; // Gemma: x sqrt(d) as a float32 scalar
      }),
    block: (i, x0) => {
      const pre = `model.layers.${i}.`;
      const w = (n: string) => param(p, pre + n) as tf.Tensor2D;
      const v1 = (n: string) => param(p, pre + n) as tf.Tensor1D;
      const h1 = c.postNorm ? x0 : norm(x0, pre + 'input_layernorm.weight'); // OLMo2 attends to the raw residual stream
      // q, k and v from one product with the three weights stacked by rows: [qd + 2 kvd, D]
      const wqkv = c.fusedProjections
        ? w('self_attn.qkv_proj.weight') // Phi-3 stores them stacked
        : (tf.concat([w('self_attn.q_proj.weight'), w('self_attn.k_proj.weight'), w('self_attn.v_proj.weight')], 0) as tf.Tensor2D);
      let qkv = matmulOI(h1, wqkv); // [B*T, qd + 2 kvd]
      if (c.qkvBias) {
        const bias = tf.concat([v1('self_attn.q_proj.bias'), v1('self_attn.k_proj.bias'), v1('self_attn.v_proj.bias')]); // [qd + 2 kvd]
        qkv = tf.add(qkv, bias);
      }
      if (c.clipQkv !== undefined) qkv = tf.clipByValue(qkv, -c.clipQkv, c.clipQkv); // OLMo's clip_qkv
      const [qp, kp, vf] = tf.split(qkv, [qd, kvd, kvd], 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]; // [B*T, qd], [B*T, kvd] x2
      const gain = (n: string) => (c.normGainOffset ? (tf.add(v1(n), c.normGainOffset) as tf.Tensor1D) : v1(n)); // Gemma 3: 1 + weight
      let qf = c.qkNorm ? headNorm(qp, gain('self_attn.q_norm.weight'), hd, c.rmsNormEps) : qp; // [B*T, qd]
      let kf = c.qkNorm ? headNorm(kp, gain('self_attn.k_norm.weight'), hd, c.rmsNormEps) : kp; // [B*T, kvd]
      if (c.qkNormFull) {
        qf = rmsNorm(qp, v1('self_attn.q_norm.weight'), c.rmsNormEps); // OLMo2: over all heads at once, [B*T, qd]
        kf = rmsNorm(kp, v1('self_attn.k_norm.weight'), c.rmsNormEps); // [B*T, kvd]
      }
      const qr = ropeHeads(qf, c.numAttentionHeads, i); // [B, H, T, hd]
      const q = qScale === 1 ? qr : (tf.mul(qr, qScale) as tf.Tensor4D);
      const k = ropeHeads(kf, c.numKeyValueHeads, i); // [B, K, T, hd]
      const v = splitHeads(vf, b, t, c.numKeyValueHeads, hd); // [B, K, T, hd]
      const a = slides(i) ? causalAttention(q, k, v, mask, !windowed) : causalAttention(q, k, v, fullMask); // [B*T, H*hd]
      const attnOut = matmulOI(a, w('self_attn.o_proj.weight')); // [B*T, D]
      const afterNorm = c.postNorm || c.sandwichNorm; // OLMo2, Gemma 3: the sublayer outputs are normed before the residual add
      const x = tf.add(x0, afterNorm ? norm(attnOut, pre + 'post_attention_layernorm.weight') : attnOut) as tf.Tensor2D;
      const h2 = c.postNorm ? x : norm(x, pre + (c.sandwichNorm ? 'pre_feedforward_layernorm.weight' : 'post_attention_layernorm.weight'));
      const [gate, up] = c.fusedProjections
        ? (tf.split(matmulOI(h2, w('mlp.gate_up_proj.weight')), 2, 1) as [tf.Tensor2D, tf.Tensor2D]) // Phi-3: gate rows, then up rows
        : [matmulOI(h2, w('mlp.gate_proj.weight')), matmulOI(h2, w('mlp.up_proj.weight'))]; // each [B*T, F]
      const m = (c.mlpActivation === 'gelu_tanh' ? tf.mul(geluTanh(gate), up) : siluMul(gate, up)) as tf.Tensor2D; // act(gate) * up, [B*T, F]
      const mlpOut = matmulOI(m, w('mlp.down_proj.weight')); // [B*T, D]
      return tf.add(x, afterNorm ? norm(mlpOut, pre + 'post_feedforward_layernorm.weight') : mlpOut) as tf.Tensor2D;
    },
    final: (x) => norm(x, 'model.norm.weight'),
    dispose: () => tf.dispose([...new Set([mask, fullMask, cos, sin, local.cos, local.sin]), rot, rotT, plain.ones, plain.zeros]),
  };
}

export function llamaForward(c: LlamaConfig, p: Params, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  return runStages(() => llamaStages(c, p, ids), p, ids, c.vocabSize, opts);
}
