/**
 * Run specs of an experiment: `scratch`, or a growth method with after-growth options joined
 * by '+': `hypercloning`, `hypercloning+rewarm` (a fresh LR warm-up), `hypercloning+moments`
 * (the source run's AdamW moments carried through the operator), `+lowlr` (a third of the
 * peak and final learning rate: a trained model restarted at a from-scratch rate first
 * forgets), `msg+ramp` (MSG: the new parts ramp in over the re-warm-up length), `+hold` (a
 * constant phase at the peak rate after growth, after the re-warm-up if any, then the decay over
 * the remaining steps), or several.
 */
import { ScionError } from '../errors.ts';
import { growthMethods } from '../growth/index.ts';

export type AfterGrowth = 'rewarm' | 'moments' | 'lowlr' | 'ramp' | 'hold';
const AFTER: readonly AfterGrowth[] = ['rewarm', 'moments', 'lowlr', 'ramp', 'hold'];
/** The learning-rate factor of `+lowlr` runs. */
export const LOW_LR_FACTOR = 1 / 3;

export interface RunSpec {
  /** As the user wrote it, e.g. 'hypercloning+rewarm'; also the run's folder name. */
  label: string;
  /** 'scratch' or a growth method. */
  method: string;
  after: AfterGrowth[];
}

export function parseRunSpec(spec: string): RunSpec {
  const [method, ...after] = spec
    .trim()
    .split('+')
    .map((s) => s.trim());
  if (!method) throw new ScionError(`--methods: empty entry in '${spec}'`, 'E_USAGE');
  const known = growthMethods().map((m) => m.name);
  if (method !== 'scratch' && !known.includes(method)) {
    throw new ScionError(`--methods: unknown method '${method}' (choose from scratch, ${known.join(', ')})`, 'E_USAGE');
  }
  for (const a of after) {
    if (!(AFTER as readonly string[]).includes(a))
      throw new ScionError(`--methods: '${spec}': unknown after-growth option '${a}' (choose from ${AFTER.join(', ')})`, 'E_USAGE');
    if (method === 'scratch') throw new ScionError(`--methods: '${spec}': after-growth options apply to grown models, not to scratch`, 'E_USAGE');
    if (a === 'ramp' && method !== 'msg') throw new ScionError(`--methods: '${spec}': +ramp ramps in the masked parts of msg growth; use msg+ramp`, 'E_USAGE');
  }
  if (method === 'msg' && !after.includes('ramp')) throw new ScionError(`--methods: '${spec}': msg growth needs its mask ramp: write msg+ramp`, 'E_USAGE');
  return { label: [method, ...after].join('+'), method, after: after as AfterGrowth[] };
}

/** Parses a comma list; scratch is always included (it defines the target). */
export function parseRunSpecs(list: string): RunSpec[] {
  const specs = list
    .split(',')
    .filter((s) => s.trim())
    .map(parseRunSpec);
  const labels = new Set<string>();
  for (const s of specs) {
    if (labels.has(s.label)) throw new ScionError(`--methods: '${s.label}' is listed twice`, 'E_USAGE');
    labels.add(s.label);
  }
  if (!labels.has('scratch')) specs.push({ label: 'scratch', method: 'scratch', after: [] });
  return specs;
}
