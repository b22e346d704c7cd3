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
import { type TensorRule, blockSources, matrixRule, vectorRule } from './rules.ts';

/** The fused [heads, (q, k, v), hd] axis from the query head map `q` (heads of `hd` units). */
export function fusedQkvMap(q: AxisMap, hd: number): AxisMap {
  const heads = q.size / hd;
  const src = Int32Array.from({ length: heads }, (_, t) => (q.src[t * hd]! >= 0 ? q.src[t * hd]! / hd : -1));
  return headsToUnits(src, q.sourceSize / hd, 3 * hd, new Float32Array(heads).fill(1));
}

export function neoxRule(plan: GrowthPlan, name: string): TensorRule {
  const { hidden, ffn, q, vocab } = plan.maps;
  const own = { source: name };
  if (name === 'gpt_neox.embed_in.weight') return matrixRule(own, vocab, hidden, 'rows', { writer: true });
  if (name === 'embed_out.weight') return matrixRule(own, vocab, hidden, 'cols');
  if (name === 'gpt_neox.final_layer_norm.weight' || name === 'gpt_neox.final_layer_norm.bias') return vectorRule(own, hidden);
  const m = /^gpt_neox\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new ScionError(`GPT-NeoX growth has no rule for tensor '${name}'`, 'E_GROW');
  const src = blockSources(plan, 'gpt_neox.layers.', Number(m[1]), m[2]!);
  const zero = src.identity;
  const qkv = fusedQkvMap(q, plan.sourceDims.headDim);
  switch (m[2]) {
    case 'input_layernorm.weight':
    case 'input_layernorm.bias':
    case 'post_attention_layernorm.weight':
    case 'post_attention_layernorm.bias':
      return vectorRule(src, hidden);
    case 'attention.query_key_value.weight':
      return matrixRule(src, qkv, hidden, 'cols');
    case 'attention.query_key_value.bias':
      return vectorRule(src, qkv);
    case 'attention.dense.weight':
      return matrixRule(src, hidden, q, 'cols', { writer: true, zero });
    case 'attention.dense.bias':
    case 'mlp.dense_4h_to_h.bias':
      return vectorRule(src, hidden, { zero });
    case 'mlp.dense_h_to_4h.weight':
      return matrixRule(src, ffn, hidden, 'cols');
    case 'mlp.dense_h_to_4h.bias':
      return vectorRule(src, ffn);
    case 'mlp.dense_4h_to_h.weight':
      return matrixRule(src, hidden, ffn, 'cols', { writer: true, zero });
    default:
      throw new ScionError(`GPT-NeoX growth has no rule for tensor '${name}'`, 'E_GROW');
  }
}
