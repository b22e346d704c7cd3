/**
 * Net2Net / bert2BERT FPI (Chen et al. 2016, Chen et al. 2022): every added unit or head copies
 * a random source unit, and the copies' fan-in is divided by the copy count, so the sum is kept
 * (exact when only the MLP or heads grow; uneven copies of hidden units change the norm
 * statistics). bert2BERT AKI maps the same way but reads added units from the next block.
 */
import { isLlamaShaped } from '../../models/config.ts';
import { unitMap } from '../axis.ts';
import { rngFor } from '../../rng.ts';
import type { Dims } from '../sizes.ts';
import { gpt2Heads, groupedHeadMaps, groupedHeads, proportionalHeads } from './heads.ts';
import { PLANNER_DEFAULTS, type Planner, fullWidthQkNormChange } from './planner.ts';

/** Units 0..d-1 kept, then random source units for the rest (the stream named by `axis`). */
function copies(d: number, size: number, seed: number, axis: string): Int32Array {
  const rng = rngFor(seed, `mapping:${axis}`);
  return Int32Array.from({ length: size }, (_, j) => (j < d ? j : rng.int(d)));
}

export const net2netPlanner: Planner = {
  ...PLANNER_DEFAULTS,
  defaultFfn: (s, D) => Math.round((s.ffn * D) / s.hidden),
  heads: (source, s, D, opts) => (!isLlamaShaped(source) ? gpt2Heads(s, D, opts) : groupedHeads(s, D, opts.heads ?? proportionalHeads(s, D), opts)),
  maps(s: Dims, t: Dims, seed: number) {
    const rng = rngFor(seed, 'mapping:heads');
    return {
      hidden: unitMap(s.hidden, copies(s.hidden, t.hidden, seed, 'hidden'), 'hidden'),
      ffn: unitMap(s.ffn, copies(s.ffn, t.ffn, seed, 'ffn'), 'internal'),
      ...groupedHeadMaps(s, t.heads, t.kvHeads, (n) => rng.int(n)),
    };
  },
  tiedHeadRescale: true,
  theory(source, s, t) {
    if (t.hidden > s.hidden) return { verdict: 'approximate', why: ['uneven duplication of hidden units changes the norm statistics (approximate)'] };
    const qkNorm = fullWidthQkNormChange(source, s, t);
    if (qkNorm) return { verdict: 'approximate', why: [qkNorm] };
    return { verdict: 'exact', why: ['duplicated MLP units/heads with fan-out divided by the copy count (exact)'] };
  },
};

export const akiPlanner: Planner = {
  ...net2netPlanner,
  theory: () => ({ verdict: 'not preserving', why: ["AKI fills added units from the next block's weights (not function-preserving)"] }),
};
