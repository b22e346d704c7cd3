/**
 * The growth mask of masked growth (MSG, Yao et al. 2024): for every target tensor, 1 where
 * the entry was copied from the source (scaled copies included) and 0 where it is new. Stored
 * as `growth-mask.safetensors` (float32, only tensors with at least one new entry) beside the
 * grown model. Training ramps the new entries in:
 *   W_eff = W * (M + (1 - M) * r),   r = min(1, step / K)
 * so at r = 0 the model is the zero-padded function and at r = 1 it is the stored model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { SafetensorsFile, writeSafetensors } from '../io/safetensors.ts';
import type { ModelConfig } from '../models/config.ts';
import { MASK_FILE } from '../models/folder-files.ts';
import { tensorSpecs } from '../models/family.ts';
import type { Params } from '../models/params.ts';
import { tensorRule } from './grow.ts';
import type { GrowthPlan } from './plan.ts';
import type { TensorRule } from './rules.ts';

export { MASK_FILE };

/** Masks by parameter name (float32 0/1, the parameter's shape); tensors that are all ones are absent. */
export type GrowthMasks = Record<string, tf.Tensor>;

export interface MaskSummary {
  file: string;
  /** Tensors with at least one new entry (the ones stored). */
  tensors: number;
  /** New (masked) entries, and all entries of the model. */
  newEntries: number;
  entries: number;
}

function hasNew(rule: TensorRule): boolean {
  if (rule.zero) return true;
  if (rule.type === 'vector') return rule.map.src.some((s) => s < 0);
  return rule.maps.rows.src.some((s) => s < 0) || rule.maps.cols.src.some((s) => s < 0);
}

/** The mask of one target tensor (1 copied, 0 new; row-major), or undefined when every entry is copied. */
export function tensorMask(plan: GrowthPlan, name: string): Float32Array | undefined {
  const rule = tensorRule(plan, name);
  if (!hasNew(rule)) return undefined;
  if (rule.type === 'vector') {
    const out = new Float32Array(rule.map.size);
    if (!rule.zero) for (let j = 0; j < out.length; j++) out[j] = rule.map.src[j]! >= 0 ? 1 : 0;
    return out;
  }
  const { rows, cols } = rule.maps;
  const out = new Float32Array(rows.size * cols.size); // [R, C]
  if (rule.zero) return out;
  for (let r = 0; r < rows.size; r++) {
    if (rows.src[r]! < 0) continue;
    const base = r * cols.size;
    for (let c = 0; c < cols.size; c++) if (cols.src[c]! >= 0) out[base + c] = 1;
  }
  return out;
}

/** Writes the plan's mask file; returns what it holds. */
export async function writeGrowthMask(file: string, plan: GrowthPlan): Promise<MaskSummary> {
  const specs = tensorSpecs(plan.target);
  const stored = specs.filter((s) => hasNew(tensorRule(plan, s.name)));
  let newEntries = 0;
  await writeSafetensors(
    file,
    stored,
    (name) => {
      const m = tensorMask(plan, name)!;
      for (let i = 0; i < m.length; i++) if (m[i] === 0) newEntries++;
      return m;
    },
    { format: 'scion-growth-mask/1', method: plan.method, rule: 'W_eff = W * (M + (1 - M) * r), r = min(1, step / K)' },
  );
  const entries = specs.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  return { file: path.basename(file), tensors: stored.length, newEntries, entries };
}

/**
 * Reads `dir`/growth-mask.safetensors as tensors (caller disposes with `disposeMasks`), checking
 * every name and shape against `config` and every value is 0 or 1.
 */
export async function readGrowthMask(dir: string, config: ModelConfig): Promise<GrowthMasks> {
  const file = path.join(dir, MASK_FILE);
  if (!existsSync(file)) {
    throw new ScionError(`${file}: no growth mask in the model folder (--mask-ramp needs a model grown with scion grow --method msg)`, 'E_MASK', file);
  }
  const shapes = new Map(tensorSpecs(config).map((s) => [s.name, s.shape]));
  const f = await SafetensorsFile.open(file);
  const masks: GrowthMasks = {};
  try {
    for (const name of f.names()) {
      const want = shapes.get(name);
      if (!want) throw new ScionError(`${file}: mask '${name}' is not a parameter of the model in ${dir}`, 'E_MASK', file);
      const shape = f.info(name).shape;
      if (shape.join(',') !== want.join(','))
        throw new ScionError(`${file}: mask '${name}' has shape [${shape.join(', ')}], the parameter [${want.join(', ')}]`, 'E_MASK', file);
      const data = await f.readFloat32(name);
      for (let i = 0; i < data.length; i++) {
        if (data[i] !== 0 && data[i] !== 1)
          throw new ScionError(`${file}: mask '${name}' has the value ${data[i]} at ${i}; masks hold only 0 and 1`, 'E_MASK', file);
      }
      masks[name] = tf.tensor(data, shape, 'float32');
    }
    if (Object.keys(masks).length === 0) throw new ScionError(`${file}: the mask file holds no tensors`, 'E_MASK', file);
    return masks;
  } catch (e) {
    disposeMasks(masks);
    throw e;
  } finally {
    await f.close();
  }
}

export function disposeMasks(masks: GrowthMasks): void {
  for (const t of Object.values(masks)) t.dispose();
}

/** The ramp at `step` completed updates of a K-step ramp: min(1, step / K). */
export function rampAt(step: number, k: number): number {
  return Math.min(1, step / k);
}

/** Per-entry multipliers M + (1 - M) r of every masked tensor (caller disposes). */
export function rampMultipliers(masks: GrowthMasks, r: number): GrowthMasks {
  return tf.tidy(() => {
    const out: GrowthMasks = {};
    for (const [name, m] of Object.entries(masks)) out[name] = tf.add(m, tf.mul(tf.sub(1, m), r)); // the parameter's shape
    return out;
  });
}

/**
 * W_eff: `params` with every masked tensor multiplied by its multiplier (new tensors, inside the
 * caller's tidy or gradient scope); unmasked tensors are the same objects as in `params`.
 */
export function maskedParams(params: Params, multipliers: GrowthMasks): Params {
  const out: Params = { ...params };
  for (const [name, m] of Object.entries(multipliers)) {
    const p = params[name];
    if (!p) throw new ScionError(`growth mask has a tensor '${name}' the model does not have`, 'E_MASK');
    out[name] = tf.mul(p, m); // the parameter's shape
  }
  return out;
}

/** W_eff at ramp r as new tensors for the masked names only (caller disposes those: see `disposeMasked`). */
export function effectiveParams(params: Params, masks: GrowthMasks, r: number): Params {
  return tf.tidy(() => {
    const mult = rampMultipliers(masks, r);
    return maskedParams(params, mult);
  });
}

/** Disposes the tensors of `effective` that are not those of `params` (what `effectiveParams` made). */
export function disposeMasked(effective: Params, params: Params): void {
  for (const [name, t] of Object.entries(effective)) if (params[name] !== t) t.dispose();
}
