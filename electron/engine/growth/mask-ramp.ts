/**
 * The one implementation of a growth mask in use: the growth check and the experiment score a
 * masked (msg) model at ramp 0 through it, and training ramps the new entries in with it
 * (masked growth, `scion train --mask-ramp K`): the variables hold the
 * stored weights W; the loss, evaluation, checkpoints and the final model see
 *   W_eff = W * (M + (1 - M) * r),   r = min(1, step / K)
 * where `step` is the number of updates done (the forward of update s uses r = (s-1)/K, the
 * model saved after update s has r = s/K). The ramp depends on the step alone, so a resumed run
 * repeats it exactly. Checkpoints inside the ramp also store the raw W of the masked tensors
 * (`mask-raw.safetensors`), because W_eff cannot give W back (at r = 0 it has lost it).
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { SafetensorsFile, writeSafetensors } from '../io/safetensors.ts';
import type { ModelConfig } from '../models/config.ts';
import type { Params } from '../models/params.ts';
import { type GrowthMasks, MASK_FILE, disposeMasked, disposeMasks, effectiveParams, rampAt, rampMultipliers, readGrowthMask } from './mask.ts';

/** Trainable weights by parameter name. */
type Variables = Record<string, tf.Variable>;

export const RAW_WEIGHTS_FILE = 'mask-raw.safetensors';

export class MaskRamp {
  private constructor(
    /** Ramp length in steps. */
    readonly steps: number,
    readonly masks: GrowthMasks,
  ) {}

  /**
   * Reads the growth mask of `modelDir` (ScionError when it is missing or does not fit `config`).
   * `steps` is the ramp length K; `effective(params, 0)` is the masked model at ramp 0 for any K.
   */
  static async load(modelDir: string, config: ModelConfig, steps = 1): Promise<MaskRamp> {
    return new MaskRamp(steps, await readGrowthMask(modelDir, config));
  }

  /** The mask of `modelDir` if it has one (a model grown with msg), else undefined. */
  static async ifPresent(modelDir: string, config: ModelConfig): Promise<MaskRamp | undefined> {
    return existsSync(path.join(modelDir, MASK_FILE)) ? MaskRamp.load(modelDir, config) : undefined;
  }

  /** r after `step` updates. */
  ramp(step: number): number {
    return rampAt(step, this.steps);
  }

  /** Whether W_eff differs from W after `step` updates. */
  active(step: number): boolean {
    return this.ramp(step) < 1;
  }

  /** Multipliers for the forward of update `step + 1` (caller disposes with disposeMasks); undefined after the ramp. */
  multipliers(step: number): GrowthMasks | undefined {
    return this.active(step) ? rampMultipliers(this.masks, this.ramp(step)) : undefined;
  }

  /** W_eff after `step` updates (the weights themselves after the ramp); give it back with `release`. */
  effective(params: Params, step: number): Params {
    return this.active(step) ? effectiveParams(params, this.masks, this.ramp(step)) : params;
  }

  /** Disposes what `effective` made (not the weights themselves). */
  release(effective: Params, params: Params): void {
    disposeMasked(effective, params);
  }

  /** Runs `fn` on W_eff at ramp 0 (the model as training starts: every new entry masked to zero). */
  async atStart<T>(params: Params, fn: (effective: Params) => Promise<T>): Promise<T> {
    const eff = this.effective(params, 0);
    try {
      return await fn(eff);
    } finally {
      this.release(eff, params);
    }
  }

  /** Writes the raw W of every masked tensor to `file` (a checkpoint inside the ramp). */
  async writeRaw(file: string, vars: Variables): Promise<void> {
    const names = Object.keys(this.masks).sort();
    await writeSafetensors(
      file,
      names.map((n) => ({ name: n, shape: vars[n]!.shape })),
      async (n) => (await vars[n]!.data()) as Float32Array,
      { format: 'scion-mask-raw/1' },
    );
  }

  /** Puts the raw W saved by `writeRaw` in `dir` back into the variables (they hold W_eff after loading a checkpoint). */
  async restoreRaw(dir: string, vars: Variables): Promise<void> {
    const file = path.join(dir, RAW_WEIGHTS_FILE);
    if (!existsSync(file))
      throw new ScionError(
        `${dir}: a checkpoint inside the mask ramp has no ${RAW_WEIGHTS_FILE} (the raw weights of the masked tensors)`,
        'E_CHECKPOINT',
        file,
      );
    const f = await SafetensorsFile.open(file);
    try {
      for (const name of Object.keys(this.masks)) {
        const v = vars[name];
        if (!v || !f.names().includes(name)) throw new ScionError(`${file}: has no raw weights for the masked tensor '${name}'`, 'E_CHECKPOINT', file);
        const shape = f.info(name).shape;
        if (shape.join(',') !== v.shape.join(','))
          throw new ScionError(`${file}: '${name}' has shape [${shape.join(', ')}], the parameter [${v.shape.join(', ')}]`, 'E_CHECKPOINT', file);
        const data = await f.readFloat32(name);
        assignData(v, data);
      }
    } finally {
      await f.close();
    }
  }

  dispose(): void {
    disposeMasks(this.masks);
  }
}

function assignData(v: tf.Variable, data: Float32Array): void {
  const next = tf.tensor(data, v.shape, 'float32'); // the parameter's shape
  try {
    v.assign(next);
  } finally {
    next.dispose();
  }
}
