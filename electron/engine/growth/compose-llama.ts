/**
 * Llama composer: the rule for every tensor of a grown Llama-shaped model (Llama, Qwen2,
 * Qwen3, Mistral, Phi-3, Gemma, Gemma 3 text, OLMo, OLMo2). Linear weights are [out, in]; q/k/v/o follow the head maps (KV heads grouped
 * as HF repeat_kv expects); RMSNorm gains are rescaled by sqrt(d/D) under zero/random pad; a
 * tied head divides the final norm by n under n-fold tiling. Qwen2's q/k/v biases follow
 * their projection's output (head) map, copied unscaled (new heads: 0); Qwen3's q/k norms
 * act inside one head, whose width never grows, so they are copied whole and never rescaled.
 * Phi-3's fused qkv_proj and gate_up_proj grow as their parts laid side by side (concatMaps);
 * its partial rotary dims live inside a head, whose width never grows.
 * Gemma: the norms store gain - 1, so every rescale acts on 1 + weight; the embedding is
 * multiplied by sqrt(d/D) against its sqrt(hidden) scale, and a tied head's final gain divides
 * that back out. OLMo has no norm tensors; a tied OLMo head is untied when the hidden width is
 * tiled (plan.untieHead). OLMo2's q/k norms span the whole projection, so they follow the query
 * and KV head maps like the projection's rows, unscaled (the RMS of n copies is the RMS).
 */
import { ScionError } from '../errors.ts';
import { isLlamaShaped } from '../models/config.ts';
import { concatMaps, identityMap } from './axis.ts';
import type { GrowthPlan } from './plan.ts';
import { type TensorRule, blockSources, matrixRule, newGain, vectorRule } from './rules.ts';

export function llamaRule(plan: GrowthPlan, name: string): TensorRule {
  const { hidden, ffn, q, kv, vocab } = plan.maps;
  const offset = isLlamaShaped(plan.source) ? plan.source.normGainOffset : undefined; // Gemma: stored = gain - 1
  const gain = { newValue: newGain(plan), scale: plan.rmsGainScale, ...(offset ? { offset } : {}) };
  const own = { source: name };
  const tiedTarget = isLlamaShaped(plan.target) && plan.target.tieWordEmbeddings;
  if (name === 'model.embed_tokens.weight') return matrixRule(own, vocab, hidden, 'rows', { writer: true, scale: plan.embedScale });
  if (name === 'lm_head.weight') return matrixRule(plan.untieHead ? { source: 'model.embed_tokens.weight' } : own, vocab, hidden, 'cols');
  if (name === 'model.norm.weight') {
    // A tied head reads the embedding with its Gemma scale: the final gain divides it out.
    const scale = plan.rmsGainScale * (tiedTarget ? 1 / plan.embedScale : 1);
    return vectorRule(own, hidden, { ...gain, scale, fanInScale: plan.tiedHeadRescale });
  }
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new ScionError(`Llama growth has no rule for tensor '${name}'`, 'E_GROW');
  const src = blockSources(plan, 'model.layers.', Number(m[1]), m[2]!);
  const zero = src.identity;
  switch (m[2]) {
    case 'input_layernorm.weight':
    case 'post_attention_layernorm.weight':
    case 'post_feedforward_layernorm.weight':
    case 'pre_feedforward_layernorm.weight':
      return vectorRule(src, hidden, gain);
    case 'self_attn.q_proj.weight':
      return matrixRule(src, q, hidden, 'cols');
    case 'self_attn.k_proj.weight':
    case 'self_attn.v_proj.weight':
      return matrixRule(src, kv, hidden, 'cols');
    case 'self_attn.qkv_proj.weight':
      return matrixRule(src, concatMaps([q, kv, kv]), hidden, 'cols'); // Phi-3's [q | k | v] rows, each part with its own head map
    case 'mlp.gate_up_proj.weight':
      return matrixRule(src, concatMaps([ffn, ffn]), hidden, 'cols'); // Phi-3's [gate | up] rows
    case 'self_attn.q_proj.bias':
      return vectorRule(src, q);
    case 'self_attn.k_proj.bias':
    case 'self_attn.v_proj.bias':
      return vectorRule(src, kv);
    case 'self_attn.q_norm.weight':
    case 'self_attn.k_norm.weight':
      if (isLlamaShaped(plan.source) && plan.source.qkNormFull) return vectorRule(src, m[2] === 'self_attn.q_norm.weight' ? q : kv, { newValue: 1 }); // OLMo2: one gain per q/k unit
      return vectorRule(src, identityMap(plan.sourceDims.headDim, 'internal'), { newValue: 1 });
    case 'self_attn.o_proj.weight':
      return matrixRule(src, hidden, q, 'cols', { writer: true, zero });
    case 'mlp.gate_proj.weight':
    case 'mlp.up_proj.weight':
      return matrixRule(src, ffn, hidden, 'cols');
    case 'mlp.down_proj.weight':
      return matrixRule(src, hidden, ffn, 'cols', { writer: true, zero });
    default:
      throw new ScionError(`Llama growth has no rule for tensor '${name}'`, 'E_GROW');
  }
}
