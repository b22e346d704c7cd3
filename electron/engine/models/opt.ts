/**
 * OPT (`OPTForCausalLM`), as Hugging Face `transformers` computes it: learned positions whose
 * table has max_position_embeddings + 2 rows, read at position ids 2..T+1 for an unpadded
 * sequence (cumsum(attention_mask) - 1 + the offset 2); LayerNorm (eps 1e-5) before attention
 * and before the MLP (`do_layer_norm_before` true: 125M, 1.3B...) or after each residual add
 * (false: 350M, which then has no final LayerNorm); separate q/k/v/out projections and a
 * ReLU MLP (fc1, fc2), with biases unless `enable_bias` is false; LayerNorms without gains
 * and biases when `layer_norm_elementwise_affine` is false; token embeddings of
 * `word_embed_proj_dim` with project_in / project_out (no bias) when that differs from
 * hidden_size (350M); a head tied to embed_tokens unless `tie_word_embeddings` is false.
 * Linear weights are [out, in]. References: Zhang et al. 2022; transformers `modeling_opt.py`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { OPTConfig } from './config.ts';
import { bad, int, requireValue, specialTokens } from './config-fields.ts';
import type { FamilyConfigSpec } from './decoder-config.ts';
import { causalAttention, causalMask, embed, geluErf, geluTanh, layerNorm, linearOI, matmulOI, splitHeads } from './layers.ts';
import { type ForwardOptions, type ForwardResult, type Params, type TensorSpec, param } from './params.ts';
import { type DecoderStages, namesUnder, runStages } from './stages.ts';

/** OPT's position table starts reading at row 2 (fairseq kept rows 0 and 1 for padding). */
export const OPT_POSITION_OFFSET = 2;
/** torch.nn.LayerNorm's default eps, which OPT uses (its config has no eps field). */
const OPT_LAYER_NORM_EPS = 1e-5;

/** A boolean field of config.json (`fallback` when absent or null). */
function flag(raw: Record<string, unknown>, file: string, field: string, fallback: boolean): boolean {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'boolean') bad(file, field, v, 'expected true or false');
  return v;
}

export const optFamily: FamilyConfigSpec<OPTConfig> = {
  family: 'opt',
  name: 'OPT',
  architecture: 'OPTForCausalLM',
  modelType: 'opt',
  parse(raw, file) {
    const act = raw['activation_function'] ?? 'relu';
    if (act !== 'relu' && act !== 'gelu' && act !== 'gelu_new') bad(file, 'activation_function', act, 'supported: relu, gelu, gelu_new');
    requireValue(raw, file, '_remove_final_layer_norm', [false], 'only checkpoints with their final LayerNorm are implemented');
    const hidden = int(raw, file, 'hidden_size', raw['d_model'] as number | undefined);
    const heads = int(raw, file, 'num_attention_heads');
    if (hidden % heads !== 0) bad(file, 'num_attention_heads', heads, `hidden_size ${hidden} is not divisible by it`);
    return {
      family: 'opt',
      vocabSize: int(raw, file, 'vocab_size'),
      hiddenSize: hidden,
      ffnDim: int(raw, file, 'ffn_dim'),
      numHiddenLayers: int(raw, file, 'num_hidden_layers'),
      numAttentionHeads: heads,
      maxPositionEmbeddings: int(raw, file, 'max_position_embeddings', 2048),
      wordEmbedProjDim: raw['word_embed_proj_dim'] === null ? hidden : int(raw, file, 'word_embed_proj_dim', hidden),
      doLayerNormBefore: flag(raw, file, 'do_layer_norm_before', true),
      enableBias: flag(raw, file, 'enable_bias', true),
      layerNormElementwiseAffine: flag(raw, file, 'layer_norm_elementwise_affine', true),
      tieWordEmbeddings: flag(raw, file, 'tie_word_embeddings', true),
      activation: act,
    };
  },
  toHF: (cfg, base) => ({
    architectures: ['OPTForCausalLM'],
    model_type: 'opt',
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    ...(base['d_model'] !== undefined ? { d_model: cfg.hiddenSize } : {}), // the old name, kept in step
    ffn_dim: cfg.ffnDim,
    num_hidden_layers: cfg.numHiddenLayers,
    num_attention_heads: cfg.numAttentionHeads,
    max_position_embeddings: cfg.maxPositionEmbeddings,
    word_embed_proj_dim: cfg.wordEmbedProjDim,
    do_layer_norm_before: cfg.doLayerNormBefore,
    _remove_final_layer_norm: false,
    enable_bias: cfg.enableBias,
    layer_norm_elementwise_affine: cfg.layerNormElementwiseAffine,
    activation_function: cfg.activation,
    tie_word_embeddings: cfg.tieWordEmbeddings,
    dropout: base['dropout'] ?? 0,
    attention_dropout: base['attention_dropout'] ?? 0,
    layerdrop: base['layerdrop'] ?? 0,
    ...specialTokens(cfg.vocabSize, base),
    dtype: 'float32',
  }),
};

/** Whether the checkpoint has project_in / project_out (word_embed_proj_dim != hidden_size). */
export function optProjects(c: OPTConfig): boolean {
  return c.wordEmbedProjDim !== c.hiddenSize;
}

export function optTensorSpecs(c: OPTConfig): TensorSpec[] {
  const d = c.hiddenSize;
  const f = c.ffnDim;
  const p = c.wordEmbedProjDim;
  const norm = (name: string): TensorSpec[] =>
    c.layerNormElementwiseAffine
      ? [
          { name: name + '.weight', shape: [d] },
          { name: name + '.bias', shape: [d] },
        ]
      : [];
  const linear = (name: string, out: number, inp: number): TensorSpec[] => [
    { name: name + '.weight', shape: [out, inp] },
    ...(c.enableBias ? [{ name: name + '.bias', shape: [out] }] : []),
  ];
  const specs: TensorSpec[] = [
    { name: 'model.decoder.embed_tokens.weight', shape: [c.vocabSize, p] },
    { name: 'model.decoder.embed_positions.weight', shape: [c.maxPositionEmbeddings + OPT_POSITION_OFFSET, d] },
  ];
  if (optProjects(c)) specs.push({ name: 'model.decoder.project_in.weight', shape: [d, p] });
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const l = `model.decoder.layers.${i}.`;
    specs.push(
      ...linear(l + 'self_attn.q_proj', d, d),
      ...linear(l + 'self_attn.k_proj', d, d),
      ...linear(l + 'self_attn.v_proj', d, d),
      ...linear(l + 'self_attn.out_proj', d, d),
      ...norm(l + 'self_attn_layer_norm'),
      ...linear(l + 'fc1', f, d),
      ...linear(l + 'fc2', d, f),
      ...norm(l + 'final_layer_norm'),
    );
  }
  if (c.doLayerNormBefore) specs.push(...norm('model.decoder.final_layer_norm'));
  if (optProjects(c)) specs.push({ name: 'model.decoder.project_out.weight', shape: [p, d] });
  if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [c.vocabSize, p] });
  return specs;
}

/** A tied head's own copy, skipped on load. */
export function optIgnoredTensor(name: string, c: OPTConfig): boolean {
  return c.tieWordEmbeddings && name === 'lm_head.weight';
}

/** Older checkpoints (facebook/opt-*) name tensors without the `model.` prefix ("decoder.layers.0..."). */
export function optCanonicalName(name: string): string {
  return name.startsWith('model.') || name === 'lm_head.weight' ? name : 'model.' + name;
}

/** The stages of OPT's forward pass over token ids [B, T] (stages.ts). */
export function optStages(c: OPTConfig, p: Params, ids: tf.Tensor2D): DecoderStages {
  const [b, t] = ids.shape;
  const d = c.hiddenSize;
  const h = c.numAttentionHeads;
  const w = (n: string) => param(p, n) as tf.Tensor2D;
  const bias = (n: string) => (c.enableBias ? (param(p, n + '.bias') as tf.Tensor1D) : undefined);
  const linear = (x: tf.Tensor2D, n: string) => linearOI(x, w(n + '.weight'), bias(n));
  const ones = tf.ones([d]) as tf.Tensor1D; // LayerNorm without gains and biases
  const zeros = tf.zeros([d]) as tf.Tensor1D;
  const norm = (x: tf.Tensor2D, n: string) =>
    c.layerNormElementwiseAffine
      ? layerNorm(x, param(p, n + '.weight') as tf.Tensor1D, param(p, n + '.bias') as tf.Tensor1D, OPT_LAYER_NORM_EPS)
      : layerNorm(x, ones, zeros, OPT_LAYER_NORM_EPS);
  const act = c.activation === 'relu' ? tf.relu : c.activation === 'gelu' ? geluErf : geluTanh;
  const mask = causalMask(t); // [T, T]
  const pre = c.doLayerNormBefore;
  const projects = optProjects(c);
  const finalNorm = pre && c.layerNormElementwiseAffine ? ['model.decoder.final_layer_norm.weight', 'model.decoder.final_layer_norm.bias'] : [];
  return {
    layers: c.numHiddenLayers,
    embedParams: ['model.decoder.embed_tokens.weight', 'model.decoder.embed_positions.weight', ...(projects ? ['model.decoder.project_in.weight'] : [])],
    blockParams: (i) => namesUnder(p, `model.decoder.layers.${i}.`),
    finalParams: [...finalNorm, ...(projects ? ['model.decoder.project_out.weight'] : [])],
    head: c.tieWordEmbeddings ? 'model.decoder.embed_tokens.weight' : 'lm_head.weight',
    embed: () =>
      tf.tidy(() => {
        let x = embed(w('model.decoder.embed_tokens.weight'), tf.reshape(ids, [-1]) as tf.Tensor1D); // [B*T, p]
        if (projects) x = matmulOI(x, w('model.decoder.project_in.weight')); // [B*T, D]
        const positions = tf.tile(tf.range(OPT_POSITION_OFFSET, t + OPT_POSITION_OFFSET, 1, 'int32'), [b]) as tf.Tensor1D; // [B*T]: 2..T+1
        return tf.add(x, embed(w('model.decoder.embed_positions.weight'), positions)) as tf.Tensor2D; // [B*T, D]
      }),
    block: (i, x0) => {
      const l = `model.decoder.layers.${i}.`;
      const h1 = pre ? norm(x0, l + 'self_attn_layer_norm') : x0;
      const heads = (n: string) => splitHeads(linear(h1, l + n), b, t, h, d / h); // [B, H, T, hd]
      const a = causalAttention(heads('self_attn.q_proj'), heads('self_attn.k_proj'), heads('self_attn.v_proj'), mask); // [B*T, D]
      let x = tf.add(x0, linear(a, l + 'self_attn.out_proj')) as tf.Tensor2D;
      if (!pre) x = norm(x, l + 'self_attn_layer_norm');
      const h2 = pre ? norm(x, l + 'final_layer_norm') : x;
      x = tf.add(x, linear(act(linear(h2, l + 'fc1')) as tf.Tensor2D, l + 'fc2')) as tf.Tensor2D; // via [B*T, F]
      return pre ? x : norm(x, l + 'final_layer_norm');
    },
    final: (x) => {
      const xf = pre ? norm(x, 'model.decoder.final_layer_norm') : x; // post-LN: the last block's norm was the last
      return projects ? matmulOI(xf, w('model.decoder.project_out.weight')) : xf; // [B*T, p] for the head
    },
    dispose: () => tf.dispose([mask, ones, zeros]),
  };
}

/** Logits [B, T, V] for token ids [B, T]. */
export function optForward(c: OPTConfig, p: Params, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  return runStages(() => optStages(c, p, ids), p, ids, c.vocabSize, opts);
}
