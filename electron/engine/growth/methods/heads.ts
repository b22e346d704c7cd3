/**
 * Attention-head logic shared by the families that do not tile: GPT-2's fixed head_dim
 * (heads x head_dim = hidden), Llama's grouped KV heads grown in proportion, and the head maps
 * that keep HF's repeat_kv grouping (target head t in KV group floor(t / g2), slot t % g2).
 */
import { type AxisMap, headsToUnits } from '../axis.ts';
import type { GrowOptions } from '../options.ts';
import { type Dims, refuse } from '../sizes.ts';

/** GPT-2 keeps head_dim: hidden D means D / head_dim heads, and KV heads are the heads. */
export function gpt2Heads(s: Dims, D: number, opts: GrowOptions): { heads: number; kvHeads: number } {
  if (D % s.headDim !== 0) {
    refuse(
      `hidden ${D} is not a multiple of head_dim ${s.headDim}: GPT-2's heads x head_dim = hidden and head_dim stays fixed; use a multiple of ${s.headDim}`,
    );
  }
  const h = D / s.headDim;
  if (opts.heads !== undefined && opts.heads !== h)
    refuse(`GPT-2 keeps head_dim ${s.headDim} and heads x head_dim = hidden, so hidden ${D} means ${h} heads, not ${opts.heads}`);
  if (opts.kvHeads !== undefined && opts.kvHeads !== h) refuse(`GPT-2 has no grouped KV heads: --kv-heads must equal the heads (${h})`);
  return { heads: h, kvHeads: h };
}

/** Heads in proportion to hidden when that is whole (else the source's), for a Llama target of hidden D. */
export function proportionalHeads(s: Dims, D: number): number {
  return (s.heads * D) % s.hidden === 0 ? (s.heads * D) / s.hidden : s.heads;
}

/** Llama query heads `heads` (already chosen) and KV heads keeping at least the source's group size. */
export function groupedHeads(s: Dims, D: number, heads: number, opts: GrowOptions): { heads: number; kvHeads: number } {
  const g = s.heads / s.kvHeads;
  if (heads < s.heads) refuse(`heads ${heads} is fewer than the source's ${s.heads}: growth only adds heads`);
  const kvHeads = opts.kvHeads ?? (heads % g === 0 ? heads / g : s.kvHeads);
  if (kvHeads < s.kvHeads) refuse(`KV heads ${kvHeads} is fewer than the source's ${s.kvHeads}`);
  if (heads % kvHeads !== 0)
    refuse(
      `heads ${heads} is not a multiple of KV heads ${kvHeads}; try --kv-heads ${heads % g === 0 ? heads / g : s.kvHeads} or --heads a multiple of ${kvHeads}`,
    );
  if (heads / kvHeads < g)
    refuse(
      `heads ${heads} over KV heads ${kvHeads} gives ${heads / kvHeads} query heads per KV head, fewer than the source's ${g}: use --kv-heads ${Math.floor(heads / g)} or fewer`,
    );
  // transformers (5.x) refuses a Llama config whose hidden size is not a multiple of the heads,
  // even with head_dim set; such a model could not be exported back to Hugging Face.
  if (D % heads !== 0) {
    const ok = Array.from({ length: 4 * heads }, (_, i) => i + 1).filter((h) => h > s.heads && D % h === 0 && h % g === 0);
    refuse(
      `hidden ${D} is not a multiple of ${heads} heads, which transformers requires of a Llama config (it would refuse to load the grown model)${ok.length ? `: use --heads ${ok.slice(0, 4).join(', ')}` : ''}`,
    );
  }
  return { heads, kvHeads };
}

/**
 * Query-head and KV-head maps that keep the grouping: the source's KV groups and slots first;
 * `pick(n)` chooses the source group (n = KV heads) or slot (n = group size) of each added one,
 * or -1 for a new head.
 */
export function groupedHeadMaps(s: Dims, heads: number, kvHeads: number, pick: (n: number) => number): { q: AxisMap; kv: AxisMap } {
  const g = s.heads / s.kvHeads;
  const g2 = heads / kvHeads;
  const groupSrc = Int32Array.from({ length: kvHeads }, (_, k) => (k < s.kvHeads ? k : pick(s.kvHeads)));
  const slotSrc = Int32Array.from({ length: g2 }, (_, j) => (j < g ? j : pick(g)));
  // Target head t sits in KV group floor(t / g2) at slot t % g2 (HF repeat_kv order).
  const qSrc = Int32Array.from({ length: heads }, (_, t) => {
    const k = groupSrc[Math.floor(t / g2)]!;
    const j = slotSrc[t % g2]!;
    return k >= 0 && j >= 0 ? k * g + j : -1;
  });
  const counts = new Int32Array(s.heads);
  for (const h of qSrc) if (h >= 0) counts[h]! += 1;
  const qScale = Float32Array.from(qSrc, (h) => (h >= 0 ? 1 / counts[h]! : 1));
  return { q: headsToUnits(qSrc, s.heads, s.headDim, qScale), kv: headsToUnits(groupSrc, s.kvHeads, s.headDim, new Float32Array(kvHeads).fill(1)) };
}
