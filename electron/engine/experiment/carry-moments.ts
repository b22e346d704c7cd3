/**
 * Step 4 of an experiment: the AdamW moments of the +moments runs. The source's moments (read
 * from a `scion train` checkpoint, or estimated from a few gradient evaluations at the source's
 * weights) are mapped through each method's operator and written as the file `scion train
 * --moments` reads.
 */
import * as path from 'node:path';
import { writeSafetensors } from '../io/safetensors.ts';
import { contextLength, type ModelConfig } from '../models/config.ts';
import { tensorSpecs } from '../models/family.ts';
import { disposeParams, loadModel } from '../models/model.ts';
import type { TextTokenizer } from '../tokenizer/tokenizer.ts';
import { readMoments } from '../train/checkpoint.ts';
import { loadTokens } from '../train/data.ts';
import { carryMoments, estimateMoments, type Moments } from '../train/moments.ts';
import { subSeed } from '../rng.ts';
import { trainFlops } from './flops.ts';
import type { ExperimentSetup } from './setup.ts';

export interface MomentFiles {
  /** Method -> its carried moments file, their scale and step count. */
  files: Map<string, { file: string; scale: number; t: number }>;
  /** FLOPs of the moment estimate (0 when read from a file or not needed). */
  growthFlops: number;
  /** Where the source's moments came from (a file, or how they were estimated). */
  origin: string;
}

/** Writes carried moments in the target's tensor shapes (the file `scion train --moments` reads). */
async function writeShapedMoments(file: string, m: Moments, target: ModelConfig): Promise<void> {
  const shapes = new Map(tensorSpecs(target).map((s) => [s.name, s.shape]));
  const names = Object.keys(m.m).sort();
  const entries = names.flatMap((n) => [
    { name: `m/${n}`, shape: shapes.get(n) ?? [m.m[n]!.length] },
    { name: `v/${n}`, shape: shapes.get(n) ?? [m.v[n]!.length] },
  ]);
  await writeSafetensors(
    file,
    entries,
    (key) => {
      const [kind, ...rest] = key.split('/');
      return (kind === 'm' ? m.m : m.v)[rest.join('/')]!;
    },
    { format: 'scion-adamw', t: String(m.t) },
  );
}

/** The source's moments: read from `--source-moments`, or estimated (with the FLOPs that took). */
async function sourceMoments(x: ExperimentSetup, tok: TextTokenizer): Promise<{ moments: Moments; flops: number; origin: string }> {
  const file = x.opts.sourceMoments;
  if (file) {
    const { m, v, t } = await readMoments(file);
    const moments: Moments = { m: {}, v: {}, t };
    for (const [k, a] of Object.entries(m)) moments.m[k] = (await a.data()) as Float32Array;
    for (const [k, a] of Object.entries(v)) moments.v[k] = (await a.data()) as Float32Array;
    for (const a of [...Object.values(m), ...Object.values(v)]) a.dispose();
    return { moments, flops: 0, origin: file };
  }
  const momentSteps = x.opts.momentSteps ?? 20;
  x.log(`estimating the source's AdamW moments from ${momentSteps} gradient evaluations`);
  const src = await loadModel(x.opts.source);
  let moments: Moments;
  try {
    const ids = await loadTokens(x.opts.data, tok, x.sourceConfig.vocabSize);
    moments = await estimateMoments(x.sourceConfig, src.params, ids, {
      steps: momentSteps,
      batch: x.r0.batch,
      ctx: Math.min(x.r0.ctx, contextLength(x.sourceConfig)),
      beta1: x.r0.beta1,
      beta2: x.r0.beta2,
      clip: x.r0.clip,
      seed: subSeed(x.seed, 'moments'),
    });
  } finally {
    disposeParams(src.params);
  }
  return {
    moments,
    flops: trainFlops(x.sourceConfig, x.r0.ctx, momentSteps * x.r0.batch * x.r0.ctx),
    origin: `estimated: ${momentSteps} gradient evaluations at the source's weights`,
  };
}

export async function writeMomentFiles(x: ExperimentSetup, tok: TextTokenizer): Promise<MomentFiles> {
  const files = new Map<string, { file: string; scale: number; t: number }>();
  if (!x.specs.some((s) => s.after.includes('moments'))) return { files, growthFlops: 0, origin: '' };
  const src = await sourceMoments(x, tok);
  for (const s of x.specs) {
    if (!s.after.includes('moments') || files.has(s.method)) continue;
    const carried = await carryMoments(x.sourceConfig, src.moments, x.growOptions(s.method));
    const file = path.join(x.out, 'models', `${s.method}.moments.safetensors`);
    await writeShapedMoments(file, carried.moments, carried.target);
    files.set(s.method, { file, scale: carried.scale, t: carried.moments.t });
  }
  return { files, growthFlops: src.flops, origin: src.origin };
}
