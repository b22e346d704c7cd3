/**
 * Copy + pad (Zhang 2021, the seed paper) and its relatives: the source units first, new
 * units after them. Zero pad keeps the function (new residual columns and fan-out zero; under
 * RMSNorm the copied gains x sqrt(d/D), eps x d/D); random pad fills new entries with small
 * noise; masked growth (MSG) stores random-pad values and a 0/1 mask that ramps them in;
 * mlp-zero and add-heads widen only the MLP or only the heads.
 */
import { identityMap, padMap } from '../axis.ts';
import { type ModelConfig, familyName, isLlamaShaped, usesLayerNorm } from '../../models/config.ts';
import type { GrowOptions, Verdict } from '../options.ts';
import { type Dims, refuse } from '../sizes.ts';
import { gpt2Heads, groupedHeadMaps, groupedHeads, proportionalHeads } from './heads.ts';
import { PLANNER_DEFAULTS, type Planner, fullWidthQkNormChange } from './planner.ts';

const LAYERNORM_PAD = "zero-padded hidden units change LayerNorm's mean and variance (approximate)";

/** What zero pad does to the function: exact unless GPT-2's LayerNorm sees new hidden units. */
function zeroPadTheory(source: ModelConfig, s: Dims, t: Dims): { verdict: Verdict; why: string[] } {
  const hiddenGrows = t.hidden > s.hidden;
  if (hiddenGrows && usesLayerNorm(source)) return { verdict: 'approximate', why: [LAYERNORM_PAD] };
  const qkNorm = fullWidthQkNormChange(source, s, t, true);
  if (qkNorm) return { verdict: 'approximate', why: [qkNorm] };
  return {
    verdict: 'exact',
    why: [hiddenGrows ? 'zero pad under RMSNorm with gains x sqrt(d/D) and eps x d/D (exact)' : 'new units have zero fan-out (exact)'],
  };
}

const padBase = {
  ...PLANNER_DEFAULTS,
  defaultFfn: (s: Dims, D: number) => Math.round((s.ffn * D) / s.hidden),
  heads: (source: ModelConfig, s: Dims, D: number, opts: GrowOptions) =>
    !isLlamaShaped(source) ? gpt2Heads(s, D, opts) : groupedHeads(s, D, opts.heads ?? proportionalHeads(s, D), opts),
  maps: (s: Dims, t: Dims) => ({
    hidden: t.hidden === s.hidden ? identityMap(s.hidden, 'hidden') : padMap(s.hidden, t.hidden, 'hidden'),
    ffn: t.ffn === s.ffn ? identityMap(s.ffn, 'internal') : padMap(s.ffn, t.ffn, 'internal'),
    ...groupedHeadMaps(s, t.heads, t.kvHeads, () => -1),
  }),
  rmsGainScale: (s: Dims, t: Dims) => (t.hidden > s.hidden ? Math.sqrt(s.hidden / t.hidden) : 1),
  theory: zeroPadTheory,
} satisfies Planner;

export const zeroPadPlanner: Planner = padBase;

export const randomPadPlanner: Planner = {
  ...padBase,
  theory: () => ({ verdict: 'approximate', why: ['small random values in new entries perturb the function (approximate)'] }),
};

export const maskedPadPlanner: Planner = {
  ...padBase,
  depth(opts) {
    if (opts.depth !== undefined && opts.depth !== 'identity')
      refuse(
        `--method msg masks new entries, but ${opts.depth === 'stack' ? 'stacked' : 'interpolated'} blocks are copies, not new: use --depth identity (new blocks ramp in) or --method ${opts.depth}`,
      );
    return opts.depth;
  },
  theory(source, s, t) {
    const at0 = 'masked growth: at ramp 0 every new entry is masked to zero, so the masked model is the zero-pad function';
    const ramp = 'during the ramp (scion train --mask-ramp K) the new entries are scaled by min(1, step/K); after it the model is the random-pad model';
    const hiddenGrows = t.hidden > s.hidden;
    const qkNorm = fullWidthQkNormChange(source, s, t, true);
    if (qkNorm) return { verdict: 'approximate', why: [`${at0}; ${qkNorm}`, ramp] };
    if (hiddenGrows && usesLayerNorm(source))
      return {
        verdict: 'approximate',
        why: [
          `${at0}; the zero hidden units still change LayerNorm's mean and variance (approximate: MSG's LayerNorm over the old units only is not implemented)`,
          ramp,
        ],
      };
    return {
      verdict: 'exact',
      why: [hiddenGrows ? `${at0}, exact under RMSNorm with gains x sqrt(d/D) and eps x d/D` : `${at0}, exact (the new units are silent)`, ramp],
    };
  },
  identityBlocks: 'new blocks have masked (small random) residual writers (exact at ramp 0)',
};

function keepsHidden(name: string) {
  return (s: Dims, D: number): void => {
    if (D !== s.hidden) refuse(`${name} keeps the hidden size ${s.hidden}: to grow hidden to ${D} use zero-pad, net2net or hypercloning`);
  };
}

export const mlpZeroPlanner: Planner = {
  ...padBase,
  checkHidden: keepsHidden('mlp-zero'),
  checkFfn(s, F) {
    if (F === s.ffn) refuse(`mlp-zero needs --ffn or --ffn-mult larger than the source's ${s.ffn}`);
  },
  heads(source, s, D, opts) {
    const h = !isLlamaShaped(source) ? gpt2Heads(s, D, opts) : groupedHeads(s, D, opts.heads ?? s.heads, opts);
    if (h.heads !== s.heads) refuse('mlp-zero only widens the MLP: use add-heads or zero-pad to add heads');
    return h;
  },
};

export const addHeadsPlanner: Planner = {
  ...padBase,
  checkHidden: keepsHidden('add-heads'),
  heads(source, s, D, opts) {
    if (!isLlamaShaped(source))
      refuse(
        `add-heads cannot grow ${familyName(source.family)}: its heads x head_dim must equal hidden ${s.hidden}; use zero-pad with a larger --hidden (adds heads) or hypercloning`,
      );
    if (opts.heads === undefined) refuse(`add-heads needs --heads (more than ${s.heads})`);
    return groupedHeads(s, D, opts.heads, opts);
  },
};
