/**
 * HyperCloning (Samragh et al. 2024): every axis tiled n-fold, copies scaled 1/n on the fan-in,
 * so every hidden state of the grown model is n copies of the source's. Integer multiples of
 * hidden, MLP and heads; Llama's KV heads grow by the same factor as the query heads.
 */
import { isLlamaShaped } from '../../models/config.ts';
import { headsToUnits, tileMap } from '../axis.ts';
import { type Dims, multiples, refuse } from '../sizes.ts';
import { gpt2Heads } from './heads.ts';
import { PLANNER_DEFAULTS, type Planner } from './planner.ts';

export const tilePlanner: Planner = {
  ...PLANNER_DEFAULTS,
  noise: true,
  checkHidden(s, D) {
    if (D % s.hidden !== 0)
      refuse(`hidden ${D} is not a multiple of ${s.hidden}: hypercloning needs an integer multiple (${multiples(s.hidden)}); use zero-pad or a multiple`);
  },
  defaultFfn: (s, D) => s.ffn * (D / s.hidden),
  checkFfn(s, F) {
    if (F % s.ffn !== 0)
      refuse(`ffn ${F} is not a multiple of ${s.ffn}: hypercloning needs an integer multiple (${multiples(s.ffn)}); use zero-pad or mlp-zero for other sizes`);
  },
  heads(source, s, D, opts) {
    if (!isLlamaShaped(source)) return gpt2Heads(s, D, opts);
    const heads = opts.heads ?? s.heads * (D / s.hidden);
    if (heads % s.heads !== 0) refuse(`heads ${heads} is not a multiple of ${s.heads}: hypercloning copies heads whole; use ${multiples(s.heads)} or zero-pad`);
    const p = heads / s.heads;
    const kvDefault = s.kvHeads * p;
    const kvHeads = opts.kvHeads ?? kvDefault;
    if (kvHeads !== kvDefault && !(s.kvHeads === 1 && kvHeads === 1)) {
      refuse(
        `KV heads must grow with the query heads (x${p}) to keep the function under grouped-query attention: use --kv-heads ${kvDefault}${s.kvHeads === 1 ? ' (or keep 1)' : ''}`,
      );
    }
    return { heads, kvHeads };
  },
  checkTarget(source, s, t) {
    if (isLlamaShaped(source) && t.heads / s.heads !== t.kvHeads / s.kvHeads && !(s.kvHeads === 1 && t.kvHeads === 1))
      refuse('hypercloning grows query and KV heads by the same factor');
  },
  maps: (s, t) => ({
    hidden: tileMap(s.hidden, t.hidden / s.hidden, 'hidden'),
    ffn: tileMap(s.ffn, t.ffn / s.ffn, 'internal'),
    ...tileHeadMaps(s, t),
  }),
  tiedHeadRescale: true,
  theory: () => ({ verdict: 'exact', why: ['n-fold cloning keeps every hidden state as n copies (exact)'] }),
};

/** Query heads tiled p-fold (1/p on the fan-in), KV heads repeated: head t copies t mod heads. */
function tileHeadMaps(s: Dims, t: Dims) {
  const p = t.heads / s.heads;
  const q = headsToUnits(
    Int32Array.from({ length: t.heads }, (_, h) => h % s.heads),
    s.heads,
    s.headDim,
    new Float32Array(t.heads).fill(1 / p),
    'internal',
    p,
  );
  const kvSrc = Int32Array.from({ length: t.kvHeads }, (_, k) => k % s.kvHeads);
  const kv = headsToUnits(kvSrc, s.kvHeads, s.headDim, new Float32Array(t.kvHeads).fill(1), 'internal');
  return { q, kv };
}
