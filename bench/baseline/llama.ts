// @ts-nocheck -- a frozen copy of the commit-8b5a60f forward code, kept only as the "before" of `npm run bench`.
/**
 * Llama (`LlamaForCausalLM`), as Hugging Face `transformers` computes it: RMSNorm, rotary
 * position embeddings (RoPE, default type, `rope_theta`), grouped-query attention (KV heads
 * repeated to the query heads), SwiGLU MLP, untied (or tied) head. Linear weights are in the
 * torch layout [out, in]. References: Touvron et al. 2023; transformers `modeling_llama.py`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LlamaConfig } from '../../electron/engine/models/config.ts';
import { causalAttention, causalMask, embed, matmulIO, matmulOI, rmsNorm, splitHeads } from './layers.ts';
import { type ForwardOptions, type ForwardResult, type Params, type TensorSpec, param } from '../../electron/engine/models/params.ts';

export function llamaTensorSpecs(c: LlamaConfig): TensorSpec[] {
  const d = c.hiddenSize;
  const qd = c.numAttentionHeads * c.headDim;
  const kvd = c.numKeyValueHeads * c.headDim;
  const specs: TensorSpec[] = [{ name: 'model.embed_tokens.weight', shape: [c.vocabSize, d] }];
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `model.layers.${i}.`;
    specs.push(
      { name: p + 'input_layernorm.weight', shape: [d] },
      { name: p + 'self_attn.q_proj.weight', shape: [qd, d] },
      { name: p + 'self_attn.k_proj.weight', shape: [kvd, d] },
      { name: p + 'self_attn.v_proj.weight', shape: [kvd, d] },
      { name: p + 'self_attn.o_proj.weight', shape: [d, qd] },
      { name: p + 'post_attention_layernorm.weight', shape: [d] },
      { name: p + 'mlp.gate_proj.weight', shape: [c.intermediateSize, d] },
      { name: p + 'mlp.up_proj.weight', shape: [c.intermediateSize, d] },
      { name: p + 'mlp.down_proj.weight', shape: [d, c.intermediateSize] },
    );
  }
  specs.push({ name: 'model.norm.weight', shape: [d] });
  if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, d] });
  return specs;
}

export function llamaIgnoredTensor(name: string, c: LlamaConfig): boolean {
  return /rotary_emb\.inv_freq$/.test(name) || (c.tieWordEmbeddings && name === 'lm_head.weight');
}

export function llamaCanonicalName(name: string): string {
  return name.startsWith('model.') || name === 'lm_head.weight' ? name : 'model.' + name;
}

/** cos and sin tables [T, hd] as HF builds them: cat(freqs, freqs) with freqs = pos * inv_freq. */
export function ropeTables(t: number, hd: number, theta: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const cos = new Float32Array(t * hd);
  const sin = new Float32Array(t * hd);
  const half = hd / 2;
  for (let j = 0; j < half; j++) {
    const invFreq = Math.fround(1 / Math.pow(theta, (2 * j) / hd));
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

/** Applies RoPE to x [B, H, T, hd]. */
function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D, rot: tf.Tensor2D): tf.Tensor4D {
  const [b, h, t, hd] = x.shape;
  const rotated = tf.reshape(matmulIO(tf.reshape(x, [b * h * t, hd]) as tf.Tensor2D, rot), [b, h, t, hd]); // [B, H, T, hd]
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
}

/** [B, K, T, hd] -> [B, K*r, T, hd], query head i using KV head floor(i / r) (HF repeat_kv). */
function repeatKV(x: tf.Tensor4D, r: number): tf.Tensor4D {
  if (r === 1) return x;
  const [b, k, t, hd] = x.shape;
  // rank 3, not 5: tfjs has no gradient for a rank-5 tile (the only change to the old code)
  const tiled = tf.tile(tf.reshape(x, [b * k, 1, t * hd]), [1, r, 1]); // [B*K, r, T*hd]
  return tf.reshape(tiled, [b, k * r, t, hd]);
}

export function llamaForward(c: LlamaConfig, p: Params, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  const [b, t] = ids.shape;
  const hd = c.headDim;
  const hidden: tf.Tensor2D[] = [];
  const logits = tf.tidy(() => {
    const flatIds = tf.reshape(ids, [-1]) as tf.Tensor1D; // [B*T]
    let x = embed(param(p, 'model.embed_tokens.weight') as tf.Tensor2D, flatIds); // [B*T, D]
    const mask = causalMask(t);
    const { cos, sin } = ropeTables(t, hd, c.ropeTheta);
    const rot = rotateHalfMatrix(hd);
    const groups = c.numAttentionHeads / c.numKeyValueHeads;
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const pre = `model.layers.${i}.`;
      const w = (n: string) => param(p, pre + n) as tf.Tensor2D;
      const h1 = rmsNorm(x, param(p, pre + 'input_layernorm.weight') as tf.Tensor1D, c.rmsNormEps);
      const q = applyRope(splitHeads(matmulOI(h1, w('self_attn.q_proj.weight')), b, t, c.numAttentionHeads, hd), cos, sin, rot); // [B, H, T, hd]
      const k = applyRope(splitHeads(matmulOI(h1, w('self_attn.k_proj.weight')), b, t, c.numKeyValueHeads, hd), cos, sin, rot); // [B, K, T, hd]
      const v = splitHeads(matmulOI(h1, w('self_attn.v_proj.weight')), b, t, c.numKeyValueHeads, hd); // [B, K, T, hd]
      const a = causalAttention(q, repeatKV(k, groups), repeatKV(v, groups), mask); // [B*T, H*hd]
      x = tf.add(x, matmulOI(a, w('self_attn.o_proj.weight')));
      const h2 = rmsNorm(x, param(p, pre + 'post_attention_layernorm.weight') as tf.Tensor1D, c.rmsNormEps);
      const gate = matmulOI(h2, w('mlp.gate_proj.weight')); // [B*T, F]
      const up = matmulOI(h2, w('mlp.up_proj.weight')); // [B*T, F]
      const m = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D; // SiLU(gate) * up
      x = tf.add(x, matmulOI(m, w('mlp.down_proj.weight')));
      if (opts.collectHidden) hidden.push(tf.keep(tf.clone(x)));
    }
    const xf = rmsNorm(x, param(p, 'model.norm.weight') as tf.Tensor1D, c.rmsNormEps);
    if (opts.collectHidden) hidden.push(tf.keep(tf.clone(xf)));
    const head = c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    const out = matmulOI(xf, param(p, head) as tf.Tensor2D); // [B*T, V]
    return tf.reshape(out, [b, t, c.vocabSize]) as tf.Tensor3D;
  });
  return opts.collectHidden ? { logits, hidden } : { logits };
}
