/**
 * GPT-2 composer: the rule for every tensor of a grown GPT2LMHeadModel. Conv1D weights are
 * [in, out]; the fused c_attn = [q | k | v] is grown as three parts (split, grow, fuse) so
 * each part keeps its own head layout; the tied head reads wte, so n-fold tiling divides the
 * final LayerNorm by n (Net2Net: by each unit's copy count).
 */
import { ScionError } from '../errors.ts';
import { concatMaps } from './axis.ts';
import type { GrowthPlan } from './plan.ts';
import { type TensorRule, blockSources, newGain } from './rules.ts';

export function gpt2Rule(plan: GrowthPlan, name: string): TensorRule {
  const { hidden, ffn, q, kv, vocab, positions } = plan.maps;
  const gain = newGain(plan);
  if (name === 'transformer.wte.weight')
    return { type: 'matrix', source: name, maps: { rows: vocab, cols: hidden, inAxis: 'rows' }, writer: true, zero: false };
  if (name === 'transformer.wpe.weight')
    return { type: 'matrix', source: name, maps: { rows: positions, cols: hidden, inAxis: 'rows' }, writer: true, zero: false };
  if (name === 'transformer.ln_f.weight')
    return { type: 'vector', source: name, map: hidden, newValue: gain, scale: 1, fanInScale: plan.tiedHeadRescale, zero: false };
  if (name === 'transformer.ln_f.bias')
    return { type: 'vector', source: name, map: hidden, newValue: 0, scale: 1, fanInScale: plan.tiedHeadRescale, zero: false };
  const m = /^transformer\.h\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new ScionError(`GPT-2 growth has no rule for tensor '${name}'`, 'E_GROW');
  const { source, next, identity } = blockSources(plan, 'transformer.h.', Number(m[1]), m[2]!);
  const base = next === undefined ? { source } : { source, next };
  const qkv = concatMaps([q, kv, kv]); // [q | k | v], each part with its own head layout
  switch (m[2]) {
    case 'ln_1.weight':
    case 'ln_2.weight':
      return { type: 'vector', ...base, map: hidden, newValue: gain, scale: 1, zero: false };
    case 'ln_1.bias':
    case 'ln_2.bias':
      return { type: 'vector', ...base, map: hidden, newValue: 0, scale: 1, zero: false };
    case 'attn.c_attn.weight':
      return { type: 'matrix', ...base, maps: { rows: hidden, cols: qkv, inAxis: 'rows' }, writer: false, zero: false };
    case 'attn.c_attn.bias':
      return { type: 'vector', ...base, map: qkv, newValue: 0, scale: 1, zero: false };
    case 'attn.c_proj.weight':
      return { type: 'matrix', ...base, maps: { rows: q, cols: hidden, inAxis: 'rows' }, writer: true, zero: identity };
    case 'attn.c_proj.bias':
    case 'mlp.c_proj.bias':
      return { type: 'vector', ...base, map: hidden, newValue: 0, scale: 1, zero: identity };
    case 'mlp.c_fc.weight':
      return { type: 'matrix', ...base, maps: { rows: hidden, cols: ffn, inAxis: 'rows' }, writer: false, zero: false };
    case 'mlp.c_fc.bias':
      return { type: 'vector', ...base, map: ffn, newValue: 0, scale: 1, zero: false };
    case 'mlp.c_proj.weight':
      return { type: 'matrix', ...base, maps: { rows: ffn, cols: hidden, inAxis: 'rows' }, writer: true, zero: identity };
    default:
      throw new ScionError(`GPT-2 growth has no rule for tensor '${name}'`, 'E_GROW');
  }
}
