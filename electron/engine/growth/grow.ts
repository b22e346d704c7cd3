/**
 * Executes a growth plan tensor by tensor: each target tensor is made from its source
 * tensor(s) fetched through `get`, so a caller can stream a checkpoint from disk (read,
 * grow, write, drop). Pure and deterministic from the seed.
 */
import type { ModelConfig } from '../models/config.ts';
import { tensorSpecs } from '../models/family.ts';
import { ScionError } from '../errors.ts';
import { gpt2Rule } from './compose-gpt2.ts';
import { llamaRule } from './compose-llama.ts';
import { neoxRule } from './compose-neox.ts';
import { optRule } from './compose-opt.ts';
import type { GrowOptions } from './options.ts';
import { type GrowthPlan, makePlan } from './plan.ts';
import { type NewEntryStd, ZERO_FILL, addPairedNoise, mapMatrix, mapVector, rms } from './primitives.ts';
import { type Rng, rngFor } from '../rng.ts';
import type { MatrixRule, TensorRule } from './rules.ts';

/** Fetches a source tensor (float32, HF name and layout) by canonical name. */
export type SourceGetter = (name: string) => Float32Array | Promise<Float32Array>;

export interface GrownTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export function tensorRule(plan: GrowthPlan, name: string): TensorRule {
  if (plan.source.family === 'gpt2') return gpt2Rule(plan, name);
  if (plan.source.family === 'opt') return optRule(plan, name);
  return plan.source.family === 'gpt_neox' ? neoxRule(plan, name) : llamaRule(plan, name);
}

/**
 * The std of new matrix entries. Zero pad keeps new hidden units at zero (new output columns
 * of residual writers zero) and new internal units silent (their outgoing rows zero); entries
 * that only read units that are zero after a norm get small random values (function-neutral,
 * and they let the new units learn). Random pad puts small random values everywhere.
 */
function fillFor(plan: GrowthPlan, rule: MatrixRule): NewEntryStd {
  const std = plan.resolved.padStd;
  if (plan.resolved.newEntries === 'zero' || plan.spec.mapping !== 'pad') return ZERO_FILL;
  if (plan.spec.pad === 'random') return { inNew: std, outNew: std, both: std };
  const inMap = rule.maps.inAxis === 'rows' ? rule.maps.rows : rule.maps.cols;
  const silentIn = inMap.kind === 'internal';
  return { inNew: silentIn ? 0 : std, outNew: rule.writer ? 0 : std, both: rule.writer || silentIn ? 0 : std };
}

/** `size` draws of N(0, std): the residual writers of a masked (MSG) identity block, which the mask silences. */
function randomArray(size: number, std: number, rng: Rng): Float32Array {
  const out = new Float32Array(size);
  rng.fillPairedNormal(out, 0, size, std);
  return out;
}

/**
 * Float32 arrays handed back once written, for the next tensors of the same size: streaming a
 * 355M-parameter model through fresh arrays costs page faults and garbage collection on every
 * 1.4 GB. At most `maxBytes` are kept; past that the arrays given back longest ago are dropped
 * (GPT-2's 200 MB embedding, used once, makes room for the blocks' matrices).
 */
export class BufferPool {
  /** Free arrays, the oldest first. */
  private free: Float32Array[] = [];
  private bytes = 0;
  constructor(private readonly maxBytes = 128 * 2 ** 20) {}
  /** An array of `n` values with arbitrary contents. */
  take(n: number): Float32Array {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const a = this.free[i]!;
      if (a.length !== n) continue;
      this.free.splice(i, 1);
      this.bytes -= a.byteLength;
      return a;
    }
    return new Float32Array(n);
  }
  /** `a` is no longer used by anyone. */
  give(a: Float32Array | Int32Array): void {
    if (!(a instanceof Float32Array) || a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength || a.byteLength > this.maxBytes) return;
    this.free.push(a);
    this.bytes += a.byteLength;
    while (this.bytes > this.maxBytes) this.bytes -= this.free.shift()!.byteLength;
  }
}

/** Grows one target tensor; with `pool`, a matrix is written into a pooled array (give it back once written). */
export async function growTensor(plan: GrowthPlan, name: string, get: SourceGetter, pool?: BufferPool): Promise<Float32Array> {
  const rule = tensorRule(plan, name);
  const size = rule.type === 'matrix' ? rule.maps.rows.size * rule.maps.cols.size : rule.map.size;
  const zeroNew = plan.resolved.newEntries === 'zero';
  const rng = rngFor(plan.resolved.seed, `fill:${name}`);
  if (rule.zero) return plan.spec.masked && !zeroNew ? randomArray(size, plan.resolved.padStd, rng) : (pool?.take(size).fill(0) ?? new Float32Array(size));
  const w = await get(rule.source);
  const next = rule.next !== undefined ? await get(rule.next) : undefined;
  if (rule.type === 'matrix') {
    const expect = rule.maps.rows.sourceSize * rule.maps.cols.sourceSize;
    if (w.length !== expect) throw new ScionError(`growth: source tensor '${rule.source}' has ${w.length} values, expected ${expect}`, 'E_GROW');
    const out = mapMatrix(w, rule.maps, fillFor(plan, rule), rng, next, pool?.take(size));
    if (rule.scale !== undefined) for (let i = 0; i < out.length; i++) out[i]! *= rule.scale;
    const inMap = rule.maps.inAxis === 'rows' ? rule.maps.rows : rule.maps.cols;
    if (plan.noiseDb !== undefined && !zeroNew && (inMap.tiles ?? 1) >= 2) {
      addPairedNoise(out, rule.maps, rms(out) * Math.pow(10, -plan.noiseDb / 20), rngFor(plan.resolved.seed, `noise:${name}`));
    }
    return out;
  }
  if (w.length !== rule.map.sourceSize)
    throw new ScionError(`growth: source tensor '${rule.source}' has ${w.length} values, expected ${rule.map.sourceSize}`, 'E_GROW');
  const randomPad = plan.spec.pad === 'random' && !zeroNew;
  const off = rule.offset ?? 0; // Gemma: stored = gain - 1, and the rule speaks of the gain
  const out = mapVector(w, rule.map, (zeroNew ? 0 : rule.newValue) - off, randomPad ? plan.resolved.padStd : 0, rng, next);
  if (rule.scale !== 1 || rule.fanInScale) {
    for (let j = 0; j < out.length; j++) if (rule.map.src[j]! >= 0) out[j] = (out[j]! + off) * rule.scale * (rule.fanInScale ? rule.map.scale[j]! : 1) - off;
  }
  return out;
}

/**
 * Grows a whole model, yielding target tensors one at a time in checkpoint order. `get` may
 * be called more than once for a source tensor (stacked blocks, AKI's next block).
 */
export async function* growArrays(source: ModelConfig, get: SourceGetter, opts: GrowOptions): AsyncGenerator<GrownTensor> {
  const plan = makePlan(source, opts);
  yield* growPlanArrays(plan, get);
}

export async function* growPlanArrays(plan: GrowthPlan, get: SourceGetter): AsyncGenerator<GrownTensor> {
  for (const spec of tensorSpecs(plan.target)) {
    const data = await growTensor(plan, spec.name, get);
    const want = spec.shape.reduce((a, b) => a * b, 1);
    if (data.length !== want)
      throw new ScionError(`growth produced ${data.length} values for '${spec.name}' but its shape [${spec.shape.join(', ')}] needs ${want}`, 'E_GROW');
    yield { name: spec.name, shape: spec.shape, data };
  }
}
