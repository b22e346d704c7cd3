/**
 * OPT composer: the rule for every tensor of a grown OPTForCausalLM. Linear weights are
 * [out, in]; q/k/v/out follow the head maps as GPT-2's (heads x head_dim = hidden), with
 * their biases along each projection's output; LayerNorm gains and biases follow the hidden
 * map (new units: 0). The position table (max_position_embeddings + 2 rows) and, for OPT-350M,
 * the word_embed_proj_dim axis never grow: embed_tokens and a head on that axis are copied,
 * project_in writes the hidden axis and project_out reads it (its fan-in takes the 1/n).
 * A tied head that reads the hidden axis directly needs the fan-in scale on the last thing
 * before it: the final LayerNorm (pre-LN), or the last block's final_layer_norm (post-LN,
 * which has no final LayerNorm). LayerNorm of n copies of a vector is n copies of its
 * LayerNorm, so HyperCloning stays exact under post-LN too; identity blocks do not (a new
 * post-LN block still normalises the stream) and are refused.
 */
import { ScionError } from '../errors.ts';
import type { OPTConfig } from '../models/config.ts';
import { OPT_POSITION_OFFSET, optProjects } from '../models/opt.ts';
import { identityMap } from './axis.ts';
import type { DepthMode } from './options.ts';
import type { GrowthPlan } from './plan.ts';
import { type TensorRule, blockSources, matrixRule, newGain, vectorRule } from './rules.ts';
import { type Dims, refuse } from './sizes.ts';

/** Refuses OPT growth that cannot be made or exported: identity blocks under post-LN, a hidden size equal to word_embed_proj_dim. */
export function checkOptGrowth(source: OPTConfig, t: Dims, depth: DepthMode | undefined): void {
  if (depth === 'identity' && !source.doLayerNormBefore)
    refuse(
      'identity blocks cannot keep the function of a post-LN OPT (do_layer_norm_before false): a new block with zero attention and MLP outputs still applies its two LayerNorms to the stream; use --depth stack or interpolate (not function-preserving) or grow width only',
    );
  if (optProjects(source) && t.hidden === source.wordEmbedProjDim)
    refuse(
      `hidden ${t.hidden} equals word_embed_proj_dim: transformers would build the grown OPT without project_in / project_out and could not load it; choose another hidden size`,
    );
}

/** The target's word_embed_proj_dim: the source's when it projects (that axis does not grow), else the hidden size. */
export function optTargetProjDim(source: OPTConfig, hidden: number): number {
  return optProjects(source) ? source.wordEmbedProjDim : hidden;
}

export function optRule(plan: GrowthPlan, name: string): TensorRule {
  const source = plan.source as OPTConfig;
  const { hidden, ffn, q, kv, vocab } = plan.maps;
  const own = { source: name };
  const projects = optProjects(source);
  const proj = identityMap(source.wordEmbedProjDim);
  const embedWidth = projects ? proj : hidden; // the axis embed_tokens and the head live on
  const gain = { newValue: newGain(plan) };
  // the fan-in scale of a tied head that reads the hidden axis itself
  const headRescale = plan.tiedHeadRescale && !projects;
  if (name === 'model.decoder.embed_tokens.weight') return matrixRule(own, vocab, embedWidth, 'rows', { writer: true });
  if (name === 'model.decoder.embed_positions.weight')
    return matrixRule(own, identityMap(source.maxPositionEmbeddings + OPT_POSITION_OFFSET), hidden, 'rows', { writer: true });
  if (name === 'model.decoder.project_in.weight') return matrixRule(own, hidden, proj, 'cols', { writer: true });
  if (name === 'model.decoder.project_out.weight') return matrixRule(own, proj, hidden, 'cols');
  if (name === 'lm_head.weight') return matrixRule(own, vocab, embedWidth, 'cols');
  if (name === 'model.decoder.final_layer_norm.weight') return vectorRule(own, hidden, { ...gain, fanInScale: headRescale });
  if (name === 'model.decoder.final_layer_norm.bias') return vectorRule(own, hidden, { fanInScale: headRescale });
  const m = /^model\.decoder\.layers\.(\d+)\.(.+)$/.exec(name);
  if (!m) throw new ScionError(`OPT growth has no rule for tensor '${name}'`, 'E_GROW');
  const i = Number(m[1]);
  const src = blockSources(plan, 'model.decoder.layers.', i, m[2]!);
  const zero = src.identity;
  // post-LN: the last block's final_layer_norm is what the head reads
  const lastPostLN = !source.doLayerNormBefore && i === plan.layers.length - 1 && headRescale;
  switch (m[2]) {
    case 'self_attn_layer_norm.weight':
      return vectorRule(src, hidden, gain);
    case 'self_attn_layer_norm.bias':
      return vectorRule(src, hidden);
    case 'final_layer_norm.weight':
      return vectorRule(src, hidden, { ...gain, fanInScale: lastPostLN });
    case 'final_layer_norm.bias':
      return vectorRule(src, hidden, { fanInScale: lastPostLN });
    case 'self_attn.q_proj.weight':
      return matrixRule(src, q, hidden, 'cols');
    case 'self_attn.k_proj.weight':
    case 'self_attn.v_proj.weight':
      return matrixRule(src, kv, hidden, 'cols');
    case 'self_attn.q_proj.bias':
      return vectorRule(src, q);
    case 'self_attn.k_proj.bias':
    case 'self_attn.v_proj.bias':
      return vectorRule(src, kv);
    case 'self_attn.out_proj.weight':
      return matrixRule(src, hidden, q, 'cols', { writer: true, zero });
    case 'self_attn.out_proj.bias':
    case 'fc2.bias':
      return vectorRule(src, hidden, { zero });
    case 'fc1.weight':
      return matrixRule(src, ffn, hidden, 'cols');
    case 'fc1.bias':
      return vectorRule(src, ffn);
    case 'fc2.weight':
      return matrixRule(src, hidden, ffn, 'cols', { writer: true, zero });
    default:
      throw new ScionError(`OPT growth has no rule for tensor '${name}'`, 'E_GROW');
  }
}
