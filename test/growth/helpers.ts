/** Shared helpers for the growth tests: fixtures, in-memory growth, random models. */
import * as tf from '@tensorflow/tfjs-core';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../electron/engine/backend.ts';
import {
  type CheckWindows,
  type GrowOptions,
  type GrowthPlan,
  checkFunctionPreservation,
  growArrays,
  growPlanArrays,
  makePlan,
} from '../../electron/engine/growth/index.ts';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';
import type { ModelConfig } from '../../electron/engine/models/config.ts';
import { forward, tensorSpecs } from '../../electron/engine/models/family.ts';
import { readWeightArrays, readModelConfig } from '../../electron/engine/models/model.ts';
import type { Params } from '../../electron/engine/models/params.ts';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'hf');
export const fixture = (name: string): string => path.join(FIXTURES, name);

export async function useWasm(): Promise<void> {
  await initBackend(process.env['SCION_BACKEND'] ?? 'wasm');
}

/** The first `count` reference eval windows (int32 [16, 128] in expected.safetensors). */
export async function evalWindows(dir: string, count = 4): Promise<CheckWindows> {
  const f = await SafetensorsFile.open(path.join(dir, 'expected.safetensors'));
  try {
    const ids = await f.readInt32('eval_input_ids');
    const [, length] = f.info('eval_input_ids').shape as [number, number];
    return { ids: ids.slice(0, count * length), count, length, origin: `${dir} eval_input_ids` };
  } finally {
    await f.close();
  }
}

export async function readArrays(dir: string): Promise<{ config: ModelConfig; arrays: Map<string, Float32Array> }> {
  const { config } = await readModelConfig(dir);
  const arrays = new Map<string, Float32Array>();
  await readWeightArrays(dir, config, (name, _shape, data) => {
    arrays.set(name, data);
  });
  return { config, arrays };
}

export function toParams(config: ModelConfig, arrays: Map<string, Float32Array>): Params {
  const p: Params = {};
  for (const s of tensorSpecs(config)) p[s.name] = tf.tensor(arrays.get(s.name)!, s.shape, 'float32');
  return p;
}

/** Grows a fixture in memory: source and grown configs and arrays. */
export async function growInMemory(dir: string, opts: GrowOptions) {
  const src = await readArrays(dir);
  const plan = makePlan(src.config, opts);
  const grown = new Map<string, Float32Array>();
  for await (const t of growArrays(src.config, (n) => src.arrays.get(n)!, opts)) grown.set(t.name, t.data);
  return { source: src, plan, target: plan.target, grown };
}

/** A model of `config` as from-scratch training would start it: N(0, 0.02) weights, norm gains 1, biases 0. */
export function randomArrays(config: ModelConfig, seed = 1): Map<string, Float32Array> {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Map<string, Float32Array>();
  for (const spec of tensorSpecs(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    const isNorm = /(ln_\d|ln_f|layernorm|norm)\.weight$/.test(spec.name);
    const isBias = spec.name.endsWith('.bias');
    for (let i = 0; i < n; i++) a[i] = isNorm ? 1 : isBias ? 0 : 0.02 * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    out.set(spec.name, a);
  }
  return out;
}

/** Logits [B, T, V] of `ids` (int32, [B, T]) as a flat array. */
export async function logitsOf(config: ModelConfig, arrays: Map<string, Float32Array>, ids: Int32Array, shape: [number, number]): Promise<Float32Array> {
  const p = toParams(config, arrays);
  const x = tf.tensor2d(ids, shape, 'int32');
  const { logits } = forward(config, p, x);
  const out = (await logits.data()) as Float32Array;
  tf.dispose([logits, x]);
  disposeAll(p);
  return out;
}

export function disposeAll(p: Params): void {
  for (const t of Object.values(p)) t.dispose();
}

/** Grows in-memory `arrays` by `plan` (the plan may be a deliberately wrong variant). */
export async function growPlanInMemory(arrays: Map<string, Float32Array>, plan: GrowthPlan): Promise<Map<string, Float32Array>> {
  const grown = new Map<string, Float32Array>();
  for await (const t of growPlanArrays(plan, (n) => arrays.get(n)!)) grown.set(t.name, t.data);
  return grown;
}

/** The exactness check of a grown model against its source, on 4 eval windows of the fixture `windowsDir` (or on `windows`). */
export async function checkGrown(
  src: { config: ModelConfig; arrays: Map<string, Float32Array> },
  target: ModelConfig,
  grown: Map<string, Float32Array>,
  windowsDir: string | CheckWindows,
) {
  const a = toParams(src.config, src.arrays);
  const b = toParams(target, grown);
  const windows = typeof windowsDir === 'string' ? await evalWindows(windowsDir, 4) : windowsDir;
  try {
    return await checkFunctionPreservation({ config: src.config, params: a }, { config: target, params: b }, windows, 'exact');
  } finally {
    disposeAll(a);
    disposeAll(b);
  }
}
