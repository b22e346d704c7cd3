/**
 * GPT-NeoX composer: the rule for every tensor of a grown GPTNeoXForCausalLM. Linear weights
 * are [out, in]. The fused query_key_value is laid out per head as [heads, (q, k, v), head_dim],
 * so its output axis is the query head map regrouped at 3 x head_dim per head (each target head
 * copies its source head's q, k and v rows together); rotary dims live inside a head and are
 * untouched. LayerNorm gains and biases follow the hidden map (new units: 0); the untied
 * embed_out reads the hidden axis as its fan-in.
 */
import { ScionError } from '../errors.ts';
import { type AxisMap, headsToUnits } from './axis.ts';
import type { GrowthPlan } from './plan.ts';
import { type TensorRule, blockSources } from './rules.ts';

/** The fused [heads, (q, k, v), hd] axis from the query head map `q` (heads of `hd` units). */
export function fusedQkvMap(q: AxisMap, hd: number): AxisMap {
  const heads = q.size / hd;
  const src = Int32Array.from({ length: heads }, (_, t) => (q.src[t * hd]! >= 0 ? q.src[t * hd]! / hd : -1));
  return headsToUnits(src, q.sourceSize / hd, 3 * hd, new Float32Array(heads).fill(1));
}

export function neoxRule(plan: GrowthPlan, name: string): TensorRule {
  const { hidden, ffn, q, vocab } = plan.maps;
  if (name === 'gpt_neox.embed_in.weight')
    return { type: 'matrix', source: name, maps: { rows: vocab, cols: hidden, inAxis: 'rows' }, writer: true, zero: false };
  if (name === 'embed_out.weight') return { type: 'matrix', source: name, maps: { rows: vocab, cols: hidden, inAxis: 'cols' }, writer: false, zero: false };
  if (name === 'gpt_neox.final_layer_norm.weight' || name === 'gpt_neox.final_layer_norm.bias')
    return { type: 'vector', source: name, map: hidden, newValue: 0, scale: 1, zero: false };
  const m = /^gpt_neox\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new ScionError(`GPT-NeoX growth has no rule for tensor '${name}'`, 'E_GROW');
  const { source, next, identity } = blockSources(plan, 'gpt_neox.layers.', Number(m[1]), m[2]!);
  const base = next === undefined ? { source } : { source, next };
  const qkv = fusedQkvMap(q, plan.sourceDims.headDim);
  switch (m[2]) {
    case 'input_layernorm.weight':
    case 'input_layernorm.bias':
    case 'post_attention_layernorm.weight':
    case 'post_attention_layernorm.bias':
      return { type: 'vector', ...base, map: hidden, newValue: 0, scale: 1, zero: false };
    case 'attention.query_key_value.weight':
      return { type: 'matrix', ...base, maps: { rows: qkv, cols: hidden, inAxis: 'cols' }, writer: false, zero: false };
    case 'attention.query_key_value.bias':
      return { type: 'vector', ...base, map: qkv, newValue: 0, scale: 1, zero: false };
    case 'attention.dense.weight':
      return { type: 'matrix', ...base, maps: { rows: hidden, cols: q, inAxis: 'cols' }, writer: true, zero: identity };
    case 'attention.dense.bias':
    case 'mlp.dense_4h_to_h.bias':
      return { type: 'vector', ...base, map: hidden, newValue: 0, scale: 1, zero: identity };
    case 'mlp.dense_h_to_4h.weight':
      return { type: 'matrix', ...base, maps: { rows: ffn, cols: hidden, inAxis: 'cols' }, writer: false, zero: false };
    case 'mlp.dense_h_to_4h.bias':
      return { type: 'vector', ...base, map: ffn, newValue: 0, scale: 1, zero: false };
    case 'mlp.dense_4h_to_h.weight':
      return { type: 'matrix', ...base, maps: { rows: hidden, cols: ffn, inAxis: 'cols' }, writer: true, zero: identity };
    default:
      throw new ScionError(`GPT-NeoX growth has no rule for tensor '${name}'`, 'E_GROW');
  }
}
