/** Shared helpers for the growth tests: fixtures, in-memory growth, random models. */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../../electron/engine/backend.ts';
import {
  type CheckWindows,
  type GrowOptions,
  type GrowthPlan,
  checkFunctionPreservation,
  growArrays,
  growModelDir,
  growPlanArrays,
  makePlan,
} from '../../electron/engine/growth/index.ts';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';
import { type ModelConfig, parseHFConfig } from '../../electron/engine/models/config.ts';
import { tensorSpecs } from '../../electron/engine/models/family.ts';
import { readWeightArrays, readModelConfig } from '../../electron/engine/models/model.ts';
import type { Params } from '../../electron/engine/models/params.ts';
import { writeModelDir } from '../helpers/family-models.ts';

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

/** Multiplies every tensor of `grown` whose name matches `names` by `factor` (the negative controls' wrong rescales). */
export function scaleTensors(grown: Map<string, Float32Array>, names: RegExp, factor: number): void {
  for (const [name, a] of grown)
    if (names.test(name))
      grown.set(
        name,
        a.map((v) => v * factor),
      );
}

/**
 * Writes `raw` + `arrays` as a model folder under `dir`, grows it with `scion grow`'s
 * HyperCloning x2 (hidden 64 -> 128, heads 4 -> 8, KV 2 -> 4) and checks the folder: verdict
 * exact, dloss <= 1e-5, `family` kept, head_dim 16 kept, and it reloads. Returns what was written.
 */
export async function growFolderX2(dir: string, family: string, raw: Record<string, unknown>, arrays: Map<string, Float32Array>) {
  const src = await writeModelDir(path.join(dir, family), raw, arrays);
  const out = path.join(dir, `${family}-x2`);
  const report = await growModelDir(src, out, { method: 'hypercloning', widthMult: 2, checkLength: 128 });
  assert.equal(report.verdict, 'exact');
  assert.ok(Math.abs(report.check!.lossGrown - report.check!.lossSource) <= 1e-5);
  const written = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(written['model_type'], family);
  assert.equal(written['hidden_size'], 128);
  assert.equal(written['num_attention_heads'], 8);
  assert.equal(written['num_key_value_heads'], 4);
  assert.equal(written['head_dim'], 16, 'head_dim is kept');
  const grown = await readArrays(out);
  assert.deepEqual(grown.config, parseHFConfig(written));
  return { report, written, grown, source: src, out };
}
