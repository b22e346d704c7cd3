/**
 * The registry of growth methods: one table, name -> what the user is told (info), how the
 * tensors are made (mapping, pad, aki, masked: read by grow.ts and the composers) and the
 * family planner that resolves sizes, heads, maps and theory (tile.ts, pad.ts, net2net.ts,
 * depth.ts).
 */
import { ScionError } from '../../errors.ts';
import { DEPTH_MODES, type DepthMode, type MethodName, WIDTH_METHODS } from '../options.ts';
import { depthPlanner } from './depth.ts';
import type { MethodInfo } from './info.ts';
import { akiPlanner, net2netPlanner } from './net2net.ts';
import { addHeadsPlanner, maskedPadPlanner, mlpZeroPlanner, randomPadPlanner, zeroPadPlanner } from './pad.ts';
import type { Planner } from './planner.ts';
import { tilePlanner } from './tile.ts';

/** How a method maps units: n-fold tiling, source-then-new padding, random unit copies, or none. */
export type UnitMapping = 'tile' | 'pad' | 'net2net' | 'none';

export interface MethodSpec {
  info: MethodInfo;
  mapping: UnitMapping;
  /** For 'pad': new entries zero where the function needs it (and small random elsewhere), or all small random. */
  pad?: 'zero' | 'random';
  /** bert2BERT AKI: added units read the next block's weights. */
  aki?: boolean;
  /** For depth-only methods: the depth mode. */
  depth?: DepthMode;
  /** Masked growth (MSG): new entries are multiplied by a mask that ramps 0 -> 1 in training (growth-mask.safetensors). */
  masked?: boolean;
  /** Resolves the target shape, the axis maps and the theory (its family's planner). */
  planner: Planner;
}

const SPECS: Record<MethodName, MethodSpec> = {
  hypercloning: {
    info: {
      name: 'hypercloning',
      kind: 'width',
      exact: true,
      summary:
        'HyperCloning (Samragh et al. 2024): every weight tiled n-fold with 1/n on the fan-in; integer multiples of hidden, MLP and heads; optional symmetry-breaking noise (--noise-db) that keeps the function',
    },
    mapping: 'tile',
    planner: tilePlanner,
  },
  'zero-pad': {
    info: {
      name: 'zero-pad',
      kind: 'width',
      exact: 'depends',
      summary:
        'copy + zero pad (Zhang 2021, the seed paper): source weights in the corner, new residual columns zero; any larger size; exact with RMSNorm (gains x sqrt(d/D), eps x d/D), approximate with LayerNorm',
    },
    mapping: 'pad',
    planner: zeroPadPlanner,
    pad: 'zero',
  },
  'random-pad': {
    info: {
      name: 'random-pad',
      kind: 'width',
      exact: false,
      summary: 'copy + small random pad (Zhang 2021 variant): as zero-pad with N(0, 0.02) in every new entry; approximate',
    },
    mapping: 'pad',
    planner: randomPadPlanner,
    pad: 'random',
  },
  net2net: {
    info: {
      name: 'net2net',
      kind: 'width',
      exact: 'depends',
      summary:
        'Net2Net / bert2BERT FPI: new units copy random source units, fan-in divided by the copy count; exact when only the MLP or heads grow, approximate when hidden grows (norm statistics change)',
    },
    mapping: 'net2net',
    planner: net2netPlanner,
  },
  aki: {
    info: {
      name: 'aki',
      kind: 'width',
      exact: false,
      summary: "bert2BERT AKI: as Net2Net, but added units take the next block's weights; not function-preserving, reported to converge faster",
    },
    mapping: 'net2net',
    planner: akiPlanner,
    aki: true,
  },
  'mlp-zero': {
    info: {
      name: 'mlp-zero',
      kind: 'width',
      exact: true,
      summary: 'MLP widening with zero fan-out: new MLP units get random fan-in and zero outgoing weights; any larger --ffn; exact',
    },
    mapping: 'pad',
    planner: mlpZeroPlanner,
    pad: 'zero',
  },
  'add-heads': {
    info: {
      name: 'add-heads',
      kind: 'width',
      exact: true,
      summary:
        'add attention heads (head_dim fixed): new q/k/v random, their output-projection rows zero; exact (Llama; GPT-2 ties heads to hidden, use zero-pad there)',
    },
    mapping: 'pad',
    planner: addHeadsPlanner,
    pad: 'zero',
  },
  msg: {
    info: {
      name: 'msg',
      kind: 'width',
      exact: 'depends',
      summary:
        'masked growth (MSG, Yao et al. 2024): random-pad values plus growth-mask.safetensors (1 copied, 0 new); new entries ramp in over K steps with scion train --mask-ramp K; at ramp 0 exact with RMSNorm (gains x sqrt(d/D), eps x d/D), approximate with LayerNorm when hidden grows; identity blocks with --depth identity',
    },
    mapping: 'pad',
    planner: maskedPadPlanner,
    pad: 'random',
    masked: true,
  },
  identity: {
    info: {
      name: 'identity',
      kind: 'depth',
      exact: true,
      summary: 'depth only: new blocks copy a neighbour with attention and MLP output projections zero (identity blocks); exact; place them with --insert-at',
    },
    mapping: 'none',
    planner: depthPlanner('identity'),
    depth: 'identity',
  },
  stack: {
    info: {
      name: 'stack',
      kind: 'depth',
      exact: false,
      summary: 'depth only: G_stack (Du et al. 2024), blocks repeated [1..L, 1..L]; not function-preserving',
    },
    mapping: 'none',
    planner: depthPlanner('stack'),
    depth: 'stack',
  },
  interpolate: {
    info: { name: 'interpolate', kind: 'depth', exact: false, summary: 'depth only: each block repeated in place [1,1,2,2,...]; not function-preserving' },
    mapping: 'none',
    planner: depthPlanner('interpolate'),
    depth: 'interpolate',
  },
};

const ALL: MethodName[] = [...WIDTH_METHODS, ...DEPTH_MODES];

/** Every method, for `scion grow --list-methods` and the app's method picker. */
export function growthMethods(): MethodInfo[] {
  return ALL.map((m) => ({ ...SPECS[m].info }));
}

export function methodSpec(name: string): MethodSpec {
  const spec = (SPECS as Record<string, MethodSpec | undefined>)[name];
  if (!spec) throw new ScionError(`unknown growth method '${name}' (known: ${ALL.join(', ')})`, 'E_USAGE');
  return spec;
}
