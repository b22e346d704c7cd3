/**
 * Compute accounting, in FLOPs: a training step costs about 3x the forward pass (forward +
 * backward) over every token it sees, the forward pass being `flopsPerToken` at the run's
 * context. A grown run's cost "with source" adds the source's own training (when its token
 * count is known) and the growth cost (the moment estimate, when one was made; copying
 * weights costs no arithmetic).
 */
import type { ModelConfig } from '../models/config.ts';
import { flopsPerToken } from '../models/family.ts';

export function trainFlopsPerStep(cfg: ModelConfig, ctx: number, tokensPerStep: number): number {
  return 3 * flopsPerToken(cfg, ctx) * tokensPerStep;
}

export function trainFlops(cfg: ModelConfig, ctx: number, tokens: number): number {
  return 3 * flopsPerToken(cfg, ctx) * tokens;
}

export function formatFlops(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  const units: [number, string][] = [
    [1e18, 'E'],
    [1e15, 'P'],
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
  ];
  for (const [u, s] of units) if (x >= u) return `${(x / u).toFixed(2)} ${s}FLOP`;
  return `${x.toFixed(0)} FLOP`;
}
