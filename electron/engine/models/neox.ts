/**
 * GPT-NeoX (`GPTNeoXForCausalLM`: Pythia), as Hugging Face `transformers` computes it:
 * LayerNorm (with bias) before attention and before the MLP, parallel residual by default
 * (x + attn(ln1(x)) + mlp(ln2(x)); `use_parallel_residual` false gives the sequential form),
 * one fused `query_key_value` [3d, d] laid out per head as [heads, (q, k, v), head_dim],
 * rotary embeddings on the first `rotary_pct` x head_dim dims of each head (the rest pass
 * through), GELU MLP (`dense_h_to_4h`, `dense_4h_to_h`), biases everywhere, final LayerNorm
 * and an untied head `embed_out`. Linear weights are [out, in]. References: Black et al.
 * 2022; Biderman et al. 2023 (Pythia); transformers `modeling_gpt_neox.py`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NeoXConfig } from './config.ts';
import { type Json, bad, int, num, requireValue, specialTokens } from './config-fields.ts';
import type { FamilyConfigSpec } from './decoder-config.ts';
import { causalAttention, causalMask, embed, geluErf, geluTanh, layerNorm, linearOI } from './layers.ts';
import { applyPartialRope, ropeTables, rotateHalfMatrix } from './llama.ts';
import { type DecoderStages, namesUnder, runStages } from './stages.ts';
import { type ForwardOptions, type ForwardResult, type Params, type TensorSpec, param } from './params.ts';

/** A number field read from config.json, or from `rope_parameters` (transformers 5), or a default. */
function ropeField(raw: Json, file: string, field: string, nested: string, fallback: number): number {
  const params = raw['rope_parameters'] as Json | undefined | null;
  const v = raw[field] ?? params?.[nested] ?? fallback;
  if (typeof v !== 'number' || !(v > 0)) bad(file, field, v, 'expected a positive number');
  return v;
}

export const neoxFamily: FamilyConfigSpec<NeoXConfig> = {
  family: 'gpt_neox',
  name: 'GPT-NeoX / Pythia',
  architecture: 'GPTNeoXForCausalLM',
  modelType: 'gpt_neox',
  parse(raw, file) {
    const act = raw['hidden_act'] ?? 'gelu';
    if (act !== 'gelu' && act !== 'gelu_new') bad(file, 'hidden_act', act, 'supported: gelu, gelu_new');
    requireValue(raw, file, 'attention_bias', [true], 'only attention biases on (as Pythia) is implemented');
    requireValue(raw, file, 'tie_word_embeddings', [false], 'GPT-NeoX checkpoints have an untied embed_out; a tied head is not implemented');
    const params = raw['rope_parameters'] as Json | undefined | null;
    const type = params?.['rope_type'] ?? raw['rope_scaling'] ?? 'default';
    if (type !== 'default' && type !== null)
      bad(file, params?.['rope_type'] !== undefined ? 'rope_parameters.rope_type' : 'rope_scaling', type, 'only the default RoPE is implemented');
    const hidden = int(raw, file, 'hidden_size');
    const heads = int(raw, file, 'num_attention_heads');
    if (hidden % heads !== 0) bad(file, 'num_attention_heads', heads, `hidden_size ${hidden} is not divisible by it`);
    const rotaryPct = ropeField(raw, file, 'rotary_pct', 'partial_rotary_factor', 0.25);
    if (rotaryPct > 1) bad(file, 'rotary_pct', rotaryPct, 'expected at most 1');
    const rotaryDims = Math.floor((hidden / heads) * rotaryPct);
    if (rotaryDims % 2 !== 0) bad(file, 'rotary_pct', rotaryPct, `head_dim ${hidden / heads} x rotary_pct gives ${rotaryDims} rotary dims, not even`);
    return {
      family: 'gpt_neox',
      vocabSize: int(raw, file, 'vocab_size'),
      hiddenSize: hidden,
      intermediateSize: int(raw, file, 'intermediate_size'),
      numHiddenLayers: int(raw, file, 'num_hidden_layers'),
      numAttentionHeads: heads,
      maxPositionEmbeddings: int(raw, file, 'max_position_embeddings', 2048),
      layerNormEps: num(raw, file, 'layer_norm_eps', 1e-5),
      rotaryPct,
      rotaryDims,
      ropeTheta: ropeField(raw, file, 'rotary_emb_base', 'rope_theta', 10000),
      parallelResidual: raw['use_parallel_residual'] !== false,
      activation: act,
    };
  },
  toHF: (cfg, base) => ({
    architectures: ['GPTNeoXForCausalLM'],
    model_type: 'gpt_neox',
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    intermediate_size: cfg.intermediateSize,
    num_hidden_layers: cfg.numHiddenLayers,
    num_attention_heads: cfg.numAttentionHeads,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    layer_norm_eps: cfg.layerNormEps,
    rotary_pct: cfg.rotaryPct,
    rotary_emb_base: cfg.ropeTheta,
    ...(base['rope_parameters'] !== undefined
      ? { rope_parameters: { rope_type: 'default', rope_theta: cfg.ropeTheta, partial_rotary_factor: cfg.rotaryPct } }
      : {}),
    use_parallel_residual: cfg.parallelResidual,
    hidden_act: cfg.activation,
    attention_bias: true,
    tie_word_embeddings: false,
    ...specialTokens(cfg.vocabSize, base),
    dtype: 'float32',
  }),
};

export function neoxTensorSpecs(c: NeoXConfig): TensorSpec[] {
  const d = c.hiddenSize;
  const f = c.intermediateSize;
  const specs: TensorSpec[] = [{ name: 'gpt_neox.embed_in.weight', shape: [c.vocabSize, d] }];
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `gpt_neox.layers.${i}.`;
    specs.push(
      { name: p + 'input_layernorm.weight', shape: [d] },
      { name: p + 'input_layernorm.bias', shape: [d] },
      { name: p + 'post_attention_layernorm.weight', shape: [d] },
      { name: p + 'post_attention_layernorm.bias', shape: [d] },
      { name: p + 'attention.query_key_value.weight', shape: [3 * d, d] },
      { name: p + 'attention.query_key_value.bias', shape: [3 * d] },
      { name: p + 'attention.dense.weight', shape: [d, d] },
      { name: p + 'attention.dense.bias', shape: [d] },
      { name: p + 'mlp.dense_h_to_4h.weight', shape: [f, d] },
      { name: p + 'mlp.dense_h_to_4h.bias', shape: [f] },
      { name: p + 'mlp.dense_4h_to_h.weight', shape: [d, f] },
      { name: p + 'mlp.dense_4h_to_h.bias', shape: [d] },
    );
  }
  specs.push(
    { name: 'gpt_neox.final_layer_norm.weight', shape: [d] },
    { name: 'gpt_neox.final_layer_norm.bias', shape: [d] },
    { name: 'embed_out.weight', shape: [c.vocabSize, d] },
  );
  return specs;
}

/** Buffers older checkpoints store: the causal mask, masked_bias and rotary inv_freq. */
export function neoxIgnoredTensor(name: string): boolean {
  return /\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/.test(name) || /rotary_emb\.inv_freq$/.test(name);
}

export function neoxCanonicalName(name: string): string {
  return name.startsWith('gpt_neox.') || name === 'embed_out.weight' ? name : 'gpt_neox.' + name;
}

/** The stages of GPT-NeoX's forward pass over token ids [B, T] (stages.ts). */
export function neoxStages(c: NeoXConfig, p: Params, ids: tf.Tensor2D): DecoderStages {
  const [b, t] = ids.shape;
  const h = c.numAttentionHeads;
  const hd = c.hiddenSize / h;
  const rd = c.rotaryDims;
  const mask = causalMask(t); // [T, T]
  const { cos, sin } = ropeTables(t, Math.max(rd, 2), c.ropeTheta);
  const rot = rotateHalfMatrix(Math.max(rd, 2));
  const tables = { cos, sin, rot, rotT: tf.transpose(rot) };
  /** RoPE on the first rd dims of each head, the rest passed through: [B, H, T, hd]. */
  const rope = (z: tf.Tensor4D): tf.Tensor4D => applyPartialRope(z, rd, tables);
  const act = c.activation === 'gelu' ? geluErf : geluTanh;
  return {
    layers: c.numHiddenLayers,
    embedParams: ['gpt_neox.embed_in.weight'],
    blockParams: (i) => namesUnder(p, `gpt_neox.layers.${i}.`),
    finalParams: ['gpt_neox.final_layer_norm.weight', 'gpt_neox.final_layer_norm.bias'],
    head: 'embed_out.weight',
    embed: () => tf.tidy(() => embed(param(p, 'gpt_neox.embed_in.weight') as tf.Tensor2D, tf.reshape(ids, [-1]) as tf.Tensor1D)), // [B*T, D]
    block: (i, x0) => {
      const pre = `gpt_neox.layers.${i}.`;
      const w = (n: string) => param(p, pre + n) as tf.Tensor2D;
      const v1 = (n: string) => param(p, pre + n) as tf.Tensor1D;
      const h1 = layerNorm(x0, v1('input_layernorm.weight'), v1('input_layernorm.bias'), c.layerNormEps);
      const qkv = tf.transpose(
        tf.reshape(linearOI(h1, w('attention.query_key_value.weight'), v1('attention.query_key_value.bias')), [b, t, h, 3 * hd]),
        [0, 2, 1, 3],
      ); // [B, H, T, 3 hd]
      const [q, k, v] = tf.split(qkv, 3, 3) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D]; // each [B, H, T, hd]
      const a = causalAttention(rope(q), rope(k), v, mask); // [B*T, D]
      const attnOut = linearOI(a, w('attention.dense.weight'), v1('attention.dense.bias')); // [B*T, D]
      const mlp = (z: tf.Tensor2D) =>
        linearOI(
          act(linearOI(z, w('mlp.dense_h_to_4h.weight'), v1('mlp.dense_h_to_4h.bias'))) as tf.Tensor2D,
          w('mlp.dense_4h_to_h.weight'),
          v1('mlp.dense_4h_to_h.bias'),
        );
      const ln2 = (z: tf.Tensor2D) => layerNorm(z, v1('post_attention_layernorm.weight'), v1('post_attention_layernorm.bias'), c.layerNormEps);
      if (c.parallelResidual) return tf.add(tf.add(x0, attnOut), mlp(ln2(x0))) as tf.Tensor2D;
      const x = tf.add(x0, attnOut) as tf.Tensor2D;
      return tf.add(x, mlp(ln2(x))) as tf.Tensor2D;
    },
    final: (x) =>
      layerNorm(x, param(p, 'gpt_neox.final_layer_norm.weight') as tf.Tensor1D, param(p, 'gpt_neox.final_layer_norm.bias') as tf.Tensor1D, c.layerNormEps),
    dispose: () => tf.dispose([mask, cos, sin, rot, tables.rotT]),
  };
}

/** Logits [B, T, V] for token ids [B, T]. */
export function neoxForward(c: NeoXConfig, p: Params, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  return runStages(() => neoxStages(c, p, ids), p, ids, c.vocabSize, opts);
}
