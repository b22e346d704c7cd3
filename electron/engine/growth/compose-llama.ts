/**
 * Llama composer: the rule for every tensor of a grown Llama-shaped model (Llama, Qwen2,
 * Qwen3, Mistral). Linear weights are [out, in]; q/k/v/o follow the head maps (KV heads grouped
 * as HF repeat_kv expects); RMSNorm gains are rescaled by sqrt(d/D) under zero/random pad; a
 * tied head divides the final norm by n under n-fold tiling. Qwen2's q/k/v biases follow
 * their projection's output (head) map, copied unscaled (new heads: 0); Qwen3's q/k norms
 * act inside one head, whose width never grows, so they are copied whole and never rescaled.
 */
import { ScionError } from '../errors.ts';
import { identityMap } from './axis.ts';
import type { GrowthPlan } from './plan.ts';
import { type TensorRule, blockSources, newGain } from './rules.ts';

export function llamaRule(plan: GrowthPlan, name: string): TensorRule {
  const { hidden, ffn, q, kv, vocab } = plan.maps;
  const gain = newGain(plan);
  if (name === 'model.embed_tokens.weight')
    return { type: 'matrix', source: name, maps: { rows: vocab, cols: hidden, inAxis: 'rows' }, writer: true, zero: false };
  if (name === 'lm_head.weight') return { type: 'matrix', source: name, maps: { rows: vocab, cols: hidden, inAxis: 'cols' }, writer: false, zero: false };
  if (name === 'model.norm.weight')
    return { type: 'vector', source: name, map: hidden, newValue: gain, scale: plan.rmsGainScale, fanInScale: plan.tiedHeadRescale, zero: false };
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new ScionError(`Llama growth has no rule for tensor '${name}'`, 'E_GROW');
  const { source, next, identity } = blockSources(plan, 'model.layers.', Number(m[1]), m[2]!);
  const base = next === undefined ? { source } : { source, next };
  switch (m[2]) {
    case 'input_layernorm.weight':
    case 'post_attention_layernorm.weight':
      return { type: 'vector', ...base, map: hidden, newValue: gain, scale: plan.rmsGainScale, zero: false };
    case 'self_attn.q_proj.weight':
      return { type: 'matrix', ...base, maps: { rows: q, cols: hidden, inAxis: 'cols' }, writer: false, zero: false };
    case 'self_attn.k_proj.weight':
    case 'self_attn.v_proj.weight':
      return { type: 'matrix', ...base, maps: { rows: kv, cols: hidden, inAxis: 'cols' }, writer: false, zero: false };
    case 'self_attn.q_proj.bias':
      return { type: 'vector', ...base, map: q, newValue: 0, scale: 1, zero: false };
    case 'self_attn.k_proj.bias':
    case 'self_attn.v_proj.bias':
      return { type: 'vector', ...base, map: kv, newValue: 0, scale: 1, zero: false };
    case 'self_attn.q_norm.weight':
    case 'self_attn.k_norm.weight':
      return { type: 'vector', ...base, map: identityMap(plan.sourceDims.headDim, 'internal'), newValue: 1, scale: 1, zero: false };
    case 'self_attn.o_proj.weight':
      return { type: 'matrix', ...base, maps: { rows: hidden, cols: q, inAxis: 'cols' }, writer: true, zero: identity };
    case 'mlp.gate_proj.weight':
    case 'mlp.up_proj.weight':
      return { type: 'matrix', ...base, maps: { rows: ffn, cols: hidden, inAxis: 'cols' }, writer: false, zero: false };
    case 'mlp.down_proj.weight':
      return { type: 'matrix', ...base, maps: { rows: hidden, cols: ffn, inAxis: 'cols' }, writer: true, zero: identity };
    default:
      throw new ScionError(`Llama growth has no rule for tensor '${name}'`, 'E_GROW');
  }
}
