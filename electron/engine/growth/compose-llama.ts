/**
 * Llama composer: the rule for every tensor of a grown Llama-shaped model (Llama, Qwen2,
 * Qwen3, Mistral, Phi-3). Linear weights are [out, in]; q/k/v/o follow the head maps (KV heads grouped
 * as HF repeat_kv expects); RMSNorm gains are rescaled by sqrt(d/D) under zero/random pad; a
 * tied head divides the final norm by n under n-fold tiling. Qwen2's q/k/v biases follow
 * their projection's output (head) map, copied unscaled (new heads: 0); Qwen3's q/k norms
 * act inside one head, whose width never grows, so they are copied whole and never rescaled.
 * Phi-3's fused qkv_proj and gate_up_proj grow as their parts laid side by side (concatMaps);
 * its partial rotary dims live inside a head, whose width never grows.
 */
import { ScionError } from '../errors.ts';
import { concatMaps, identityMap } from './axis.ts';
import type { GrowthPlan } from './plan.ts';
import { type TensorRule, blockSources, matrixRule, newGain, vectorRule } from './rules.ts';

export function llamaRule(plan: GrowthPlan, name: string): TensorRule {
  const { hidden, ffn, q, kv, vocab } = plan.maps;
  const gain = { newValue: newGain(plan), scale: plan.rmsGainScale };
  const own = { source: name };
  if (name === 'model.embed_tokens.weight') return matrixRule(own, vocab, hidden, 'rows', { writer: true });
  if (name === 'lm_head.weight') return matrixRule(own, vocab, hidden, 'cols');
  if (name === 'model.norm.weight') return vectorRule(own, hidden, { ...gain, fanInScale: plan.tiedHeadRescale });
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new ScionError(`Llama growth has no rule for tensor '${name}'`, 'E_GROW');
  const src = blockSources(plan, 'model.layers.', Number(m[1]), m[2]!);
  const zero = src.identity;
  switch (m[2]) {
    case 'input_layernorm.weight':
    case 'post_attention_layernorm.weight':
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
