/**
 * GPT-2 (`GPT2LMHeadModel`), as Hugging Face `transformers` computes it: learned positions,
 * pre-LN blocks with LayerNorm, fused q/k/v in `c_attn` (Conv1D layout [in, out]),
 * GELU (tanh form) MLP of 4d, final LayerNorm, head tied to the token embedding.
 * References: Radford et al. 2019; transformers `modeling_gpt2.py`; nanoGPT `model.py`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GPT2Config } from './config.ts';
import { affineIO, causalMask, causalSelfAttentionQkv, embed, geluErf, geluTanh, layerNorm } from './layers.ts';
import { type DecoderStages, namesUnder, runStages } from './stages.ts';
import { type ForwardOptions, type ForwardResult, type Params, type TensorSpec, param } from './params.ts';

/** Every tensor of the checkpoint, with its HF name and shape. */
export function gpt2TensorSpecs(c: GPT2Config): TensorSpec[] {
  const d = c.nEmbd;
  const specs: TensorSpec[] = [
    { name: 'transformer.wte.weight', shape: [c.vocabSize, d] },
    { name: 'transformer.wpe.weight', shape: [c.nPositions, d] },
  ];
  for (let i = 0; i < c.nLayer; i++) {
    const p = `transformer.h.${i}.`;
    specs.push(
      { name: p + 'ln_1.weight', shape: [d] },
      { name: p + 'ln_1.bias', shape: [d] },
      { name: p + 'attn.c_attn.weight', shape: [d, 3 * d] },
      { name: p + 'attn.c_attn.bias', shape: [3 * d] },
      { name: p + 'attn.c_proj.weight', shape: [d, d] },
      { name: p + 'attn.c_proj.bias', shape: [d] },
      { name: p + 'ln_2.weight', shape: [d] },
      { name: p + 'ln_2.bias', shape: [d] },
      { name: p + 'mlp.c_fc.weight', shape: [d, c.nInner] },
      { name: p + 'mlp.c_fc.bias', shape: [c.nInner] },
      { name: p + 'mlp.c_proj.weight', shape: [c.nInner, d] },
      { name: p + 'mlp.c_proj.bias', shape: [d] },
    );
  }
  specs.push({ name: 'transformer.ln_f.weight', shape: [d] }, { name: 'transformer.ln_f.bias', shape: [d] });
  return specs;
}

/** Checkpoint names that are buffers or the tied head, not parameters: skipped on load. */
export function gpt2IgnoredTensor(name: string): boolean {
  return name === 'lm_head.weight' || /\.attn\.(bias|masked_bias)$/.test(name);
}

/** Maps checkpoint names without the `transformer.` prefix onto the canonical names. */
export function gpt2CanonicalName(name: string): string {
  return name.startsWith('transformer.') || name === 'lm_head.weight' ? name : 'transformer.' + name;
}

/** The stages of GPT-2's forward pass over token ids [B, T] (stages.ts). */
export function gpt2Stages(c: GPT2Config, p: Params, ids: tf.Tensor2D): DecoderStages {
  const [b, t] = ids.shape;
  const mask = causalMask(t); // [T, T]
  const act = c.activation === 'gelu' ? geluErf : geluTanh;
  const v1 = (n: string) => param(p, n) as tf.Tensor1D;
  return {
    layers: c.nLayer,
    embedParams: ['transformer.wte.weight', 'transformer.wpe.weight'],
    blockParams: (i) => namesUnder(p, `transformer.h.${i}.`),
    finalParams: ['transformer.ln_f.weight', 'transformer.ln_f.bias'],
    head: 'transformer.wte.weight', // tied
    embed: () =>
      tf.tidy(() => {
        const flatIds = tf.reshape(ids, [-1]) as tf.Tensor1D; // [B*T]
        const positions = tf.tile(tf.range(0, t, 1, 'int32'), [b]) as tf.Tensor1D; // [B*T]
        return tf.add(
          embed(param(p, 'transformer.wte.weight') as tf.Tensor2D, flatIds),
          embed(param(p, 'transformer.wpe.weight') as tf.Tensor2D, positions),
        ) as tf.Tensor2D; // [B*T, D]
      }),
    block: (i, x0) => {
      const pre = `transformer.h.${i}.`;
      const w = (n: string) => param(p, pre + n) as tf.Tensor2D;
      const h1 = layerNorm(x0, v1(pre + 'ln_1.weight'), v1(pre + 'ln_1.bias'), c.layerNormEpsilon);
      const qkv = affineIO(h1, w('attn.c_attn.weight'), v1(pre + 'attn.c_attn.bias')); // [B*T, 3D]
      const a = causalSelfAttentionQkv(qkv, b, t, c.nHead, mask); // [B*T, D]
      const x = tf.add(x0, affineIO(a, w('attn.c_proj.weight'), v1(pre + 'attn.c_proj.bias'))) as tf.Tensor2D;
      const h2 = layerNorm(x, v1(pre + 'ln_2.weight'), v1(pre + 'ln_2.bias'), c.layerNormEpsilon);
      const m = act(affineIO(h2, w('mlp.c_fc.weight'), v1(pre + 'mlp.c_fc.bias'))) as tf.Tensor2D; // [B*T, F]
      return tf.add(x, affineIO(m, w('mlp.c_proj.weight'), v1(pre + 'mlp.c_proj.bias'))) as tf.Tensor2D;
    },
    final: (x) => layerNorm(x, v1('transformer.ln_f.weight'), v1('transformer.ln_f.bias'), c.layerNormEpsilon),
    dispose: () => mask.dispose(),
  };
}

/** Logits [B, T, V] for token ids [B, T]. */
export function gpt2Forward(c: GPT2Config, p: Params, ids: tf.Tensor2D, opts: ForwardOptions = {}): ForwardResult {
  return runStages(() => gpt2Stages(c, p, ids), p, ids, c.vocabSize, opts);
}
