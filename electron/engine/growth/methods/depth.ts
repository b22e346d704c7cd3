/**
 * Depth-only growth (`--method identity|stack|interpolate --layers L`): every axis keeps its
 * size, only blocks are added (identity blocks with zero residual writers, G_stack's [1..L,
 * 1..L], or each block repeated in place). To widen too, a width method takes `--depth`.
 */
import { identityMap } from '../axis.ts';
import type { DepthMode } from '../options.ts';
import { refuse } from '../sizes.ts';
import { PLANNER_DEFAULTS, type Planner } from './planner.ts';

export function depthPlanner(mode: DepthMode): Planner {
  return {
    ...PLANNER_DEFAULTS,
    depth(opts, s) {
      const widthAsked = [opts.hidden, opts.widthMult, opts.ffn, opts.ffnMult, opts.heads, opts.kvHeads].some((v) => v !== undefined);
      if (widthAsked)
        refuse(
          `--method ${mode} grows depth only: to widen too, use a width method with --depth ${mode} (e.g. --method hypercloning --width-mult 2 --depth ${mode})`,
        );
      if (opts.depth !== undefined && opts.depth !== mode) refuse(`--method ${mode} and --depth ${opts.depth} disagree: give one`);
      if (opts.layers === undefined) refuse(`--method ${mode} needs --layers (more than the source's ${s.layers})`);
      return mode;
    },
    defaultFfn: (s) => s.ffn,
    heads: (_source, s) => ({ heads: s.heads, kvHeads: s.kvHeads }),
    maps: (s, t) => ({
      hidden: identityMap(t.hidden, 'hidden'),
      ffn: identityMap(t.ffn, 'internal'),
      q: identityMap(s.heads * s.headDim, 'internal'),
      kv: identityMap(s.kvHeads * s.headDim, 'internal'),
    }),
    theory: () => ({ verdict: 'exact', why: [] }),
  };
}
