/** Parses `--target hidden=D,layers=L[,ffn=F,heads=H,kv-heads=K]`. */
import { ScionError } from '../errors.ts';

export interface TargetShape {
  hidden?: number;
  layers?: number;
  ffn?: number;
  heads?: number;
  kvHeads?: number;
}

const KEYS: Record<string, keyof TargetShape> = { hidden: 'hidden', layers: 'layers', ffn: 'ffn', heads: 'heads', 'kv-heads': 'kvHeads', kvheads: 'kvHeads' };

export function parseTarget(spec: string): TargetShape {
  const out: TargetShape = {};
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [k, v, ...rest] = part.split('=');
    const key = KEYS[(k ?? '').toLowerCase()];
    const n = Number(v);
    if (!key || rest.length > 0 || !Number.isInteger(n) || n < 1) {
      throw new ScionError(
        `--target '${spec}': '${part}' is not KEY=N with KEY one of hidden, layers, ffn, heads, kv-heads and N a positive integer`,
        'E_USAGE',
      );
    }
    out[key] = n;
  }
  if (Object.keys(out).length === 0) throw new ScionError(`--target '${spec}': give at least one of hidden=D, layers=L, ffn=F, heads=H`, 'E_USAGE');
  return out;
}

export function formatTarget(t: TargetShape): string {
  return Object.entries(t)
    .map(([k, v]) => `${k === 'kvHeads' ? 'kv-heads' : k}=${v}`)
    .join(',');
}
