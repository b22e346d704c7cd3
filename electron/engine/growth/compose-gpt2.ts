/**
 * GPT-2 composer: the rule for every tensor of a grown GPT2LMHeadModel. Conv1D weights are
 * [in, out]; the fused c_attn = [q | k | v] is grown as three parts (split, grow, fuse) so
 * each part keeps its own head layout; the tied head reads wte, so n-fold tiling divides the
 * final LayerNorm by n (Net2Net: by each unit's copy count).
 */
import { ScionError } from '../errors.ts';
import { concatMaps } from './axis.ts';
import type { GrowthPlan } from './plan.ts';
import { type TensorRule, blockSources, matrixRule, newGain, vectorRule } from './rules.ts';

export function gpt2Rule(plan: GrowthPlan, name: string): TensorRule {
  const { hidden, ffn, q, kv, vocab, positions } = plan.maps;
  const gain = newGain(plan);
  const own = { source: name };
  const fanInScale = plan.tiedHeadRescale;
  if (name === 'transformer.wte.weight') return matrixRule(own, vocab, hidden, 'rows', { writer: true });
  if (name === 'transformer.wpe.weight') return matrixRule(own, positions, hidden, 'rows', { writer: true });
  if (name === 'transformer.ln_f.weight') return vectorRule(own, hidden, { newValue: gain, fanInScale });
  if (name === 'transformer.ln_f.bias') return vectorRule(own, hidden, { fanInScale });
  const m = /^transformer\.h\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new ScionError(`GPT-2 growth has no rule for tensor '${name}'`, 'E_GROW');
  const src = blockSources(plan, 'transformer.h.', Number(m[1]), m[2]!);
  const zero = src.identity;
  const qkv = concatMaps([q, kv, kv]); // [q | k | v], each part with its own head layout
  switch (m[2]) {
    case 'ln_1.weight':
    case 'ln_2.weight':
      return vectorRule(src, hidden, { newValue: gain });
    case 'ln_1.bias':
    case 'ln_2.bias':
      return vectorRule(src, hidden);
    case 'attn.c_attn.weight':
      return matrixRule(src, hidden, qkv, 'rows');
    case 'attn.c_attn.bias':
      return vectorRule(src, qkv);
    case 'attn.c_proj.weight':
      return matrixRule(src, q, hidden, 'rows', { writer: true, zero });
    case 'attn.c_proj.bias':
    case 'mlp.c_proj.bias':
      return vectorRule(src, hidden, { zero });
    case 'mlp.c_fc.weight':
      return matrixRule(src, hidden, ffn, 'rows');
    case 'mlp.c_fc.bias':
      return vectorRule(src, ffn);
    case 'mlp.c_proj.weight':
      return matrixRule(src, ffn, hidden, 'rows', { writer: true, zero });
    default:
      throw new ScionError(`GPT-2 growth has no rule for tensor '${name}'`, 'E_GROW');
  }
}
