/**
 * `scion grow`'s work on folders: stream a source Hugging Face folder through a growth plan
 * into a new folder (config.json, model.safetensors or shards, tokenizer files, growth.json), check the
 * grown model against the source, all inside a temporary folder that replaces `outDir` only
 * when everything succeeded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { formatBytes } from '../memory/estimate.ts';
import { activeBackend, growthCheckLength, requireGrowthCheckFits } from '../memory/fit.ts';
import { ScionError } from '../errors.ts';
import { atomicWriteDir } from '../io/atomic.ts';
import { checkOutputDir, writeOutputMarker } from '../io/out-dir.ts';
import { INDEX_FILE, writeModelWeights } from '../io/model-weights.ts';
import type { WriteQueueOptions } from '../io/write-queue.ts';
import { type ModelConfig, contextLength, modelShape, toHFConfig } from '../models/config.ts';
import { parameterCount, tensorSpecs } from '../models/family.ts';
import { GROWTH_FILE } from '../models/folder-files.ts';
import { type Model, copySideFiles, disposeParams, loadModel, openModelWeights, readModelConfig } from '../models/model.ts';
import type { Params } from '../models/params.ts';
import { checkSideFiles, tokenizerMetadata } from '../models/side-files.ts';
import { loadTokenizer } from '../tokenizer/tokenizer.ts';
import { loadTokens, parseDataSpec } from '../train/data.ts';
import {
  APPROX_LOSS_BOUND,
  type CheckVerdict,
  type CheckWindows,
  type FunctionCheck,
  LOGIT_ABS_TOL,
  LOGIT_REL_TOL,
  LOSS_TOL,
  VERDICT_SCALE,
  checkFunctionPreservation,
  randomWindows,
  windowsFromTokens,
} from './check.ts';
import { BufferPool, growTensor } from './grow.ts';
import { MaskRamp } from './mask-ramp.ts';
import { MASK_FILE, type MaskSummary, writeGrowthMask } from './mask.ts';
import type { GrowOptions, Verdict } from './options.ts';
import { type GrowthPlan, type LayerSource, makePlan } from './plan.ts';
import { weightsHash } from '../io/weight-files.ts';

export interface GrowDirOptions extends GrowOptions {
  /** Text or .bin token file for the check; without it, deterministic random token windows. */
  checkData?: string;
  /** Number of check windows (default 4) and their length (default min(context, 256)). */
  checkWindows?: number;
  checkLength?: number;
  /** false skips the check (benchmarks only: `scion grow` always checks). */
  check?: boolean;
  /** Replace an existing `outDir` (atomically). */
  force?: boolean;
  /** Bytes of tensor data per weight file at most; larger models are written as shards (default 5 GB). */
  maxShardBytes?: number;
  /** How far growth may run ahead of the disk (io/write-queue.ts; the defaults unless a benchmark tunes them). */
  writeQueue?: WriteQueueOptions;
  onLog?: (line: string) => void;
}

export interface GrowthReport {
  method: string;
  source: { path: string; sha256: string; files: string[] };
  out: string;
  /** Every parameter, defaults filled in. */
  options: Record<string, unknown>;
  seed: number;
  layerMap: LayerSource[];
  sourceConfig: ModelConfig;
  targetConfig: ModelConfig;
  sourceShape: ReturnType<typeof modelShape>;
  targetShape: ReturnType<typeof modelShape>;
  paramsSource: number;
  paramsTarget: number;
  theory: { verdict: Verdict; why: string };
  /** Masked growth (msg): the mask file written beside the model; the check ran on the masked model at ramp 0. */
  mask?: MaskSummary;
  /** Undefined only when the check was skipped (benchmarks). */
  check?: FunctionCheck;
  verdict?: CheckVerdict;
  seconds: { grow: number; check: number };
  bytesWritten: number;
}

/** The output-folder policy (io/out-dir.ts) for a grown model; the parent folder must exist. */
async function checkOutDir(sourceDir: string, outDir: string, opts: GrowDirOptions): Promise<void> {
  const inputs = [{ what: 'the source model', path: sourceDir }];
  if (opts.checkData) inputs.push({ what: '--check-data', path: parseDataSpec(opts.checkData).file });
  await checkOutputDir({ out: outDir, kind: 'model', command: 'grow', inputs, force: opts.force === true });
  if (!existsSync(path.dirname(path.resolve(outDir)))) throw new ScionError(`${outDir}: its parent folder does not exist`, 'E_USAGE', outDir);
}

async function checkWindowsFor(sourceDir: string, plan: GrowthPlan, opts: GrowDirOptions): Promise<CheckWindows> {
  const ctx = Math.min(contextLength(plan.source), contextLength(plan.target));
  const length = Math.min(ctx, opts.checkLength ?? 256);
  const count = opts.checkWindows ?? 4;
  if (!opts.checkData) return randomWindows(plan.source.vocabSize, count, length, plan.resolved.seed);
  const tok = await loadTokenizer(sourceDir);
  const ids = await loadTokens(opts.checkData, tok, plan.source.vocabSize);
  return windowsFromTokens(ids, count, length, opts.checkData);
}

/**
 * Refuses, before anything is written, a grown model the output disk or the check's backend
 * cannot hold. Returns the check's window length: the default (min(context, 256)) shortened,
 * down to 32 tokens, where only a shorter window fits the backend next to both models.
 */
async function requireGrowthFits(plan: GrowthPlan, outDir: string, opts: GrowDirOptions): Promise<number | undefined> {
  const bytes = 4 * parameterCount(plan.target);
  const parent = path.dirname(path.resolve(outDir));
  const disk = await fs.statfs(parent).catch(() => undefined);
  if (disk && bytes > disk.bavail * disk.bsize)
    throw new ScionError(
      `${outDir}: the grown model needs about ${formatBytes(bytes)} on disk, ${parent} has ${formatBytes(disk.bavail * disk.bsize)} free; nothing was written`,
      'E_DISK',
      outDir,
    );
  if (opts.check === false) return undefined;
  const length = Math.min(contextLength(plan.source), contextLength(plan.target), opts.checkLength ?? 256);
  const fitting = opts.checkLength === undefined ? growthCheckLength(plan.source, plan.target, length, activeBackend()) : length;
  requireGrowthCheckFits(plan.source, plan.target, fitting || length, activeBackend());
  if (fitting < length)
    opts.onLog?.(`the check runs on windows of ${fitting} tokens: ${length} would not fit the ${activeBackend()} backend next to both models`);
  return fitting;
}

/** Grows `sourceDir` into `outDir` and checks it; see GrowDirOptions. Needs a tfjs backend for the check. */
export async function growModelDir(sourceDir: string, outDir: string, opts: GrowDirOptions): Promise<GrowthReport> {
  const log = opts.onLog ?? (() => undefined);
  const { config: source, raw } = await readModelConfig(sourceDir);
  const plan = makePlan(source, opts);
  await checkOutDir(sourceDir, outDir, opts);
  await checkSideFiles(sourceDir); // a broken tokenizer is refused before anything is written
  const metadata = { format: 'pt', ...(await tokenizerMetadata(sourceDir)) };
  const checkLength = await requireGrowthFits(plan, outDir, opts);
  const reader = await openModelWeights(sourceDir, source);
  // with a check, each source tensor is read (and scanned for NaN/Inf) once: growth reads it, the check's source model takes it
  const kept = opts.check !== false ? new Map<string, Float32Array>() : undefined;
  // arrays are reused: each grown tensor's once it is written, each source tensor's (when not kept) once its target tensor is grown
  const pool = new BufferPool();
  const sourceSizes = new Map(tensorSpecs(source).map((s) => [s.name, s.shape.reduce((a, b) => a * b, 1)]));
  const fetched: Float32Array[] = [];
  const read = async (name: string): Promise<Float32Array> => {
    const hit = kept?.get(name);
    if (hit) return hit;
    const data = await reader.get(name, kept ? undefined : pool.take(sourceSizes.get(name) ?? 0));
    if (kept) kept.set(name, data);
    else fetched.push(data);
    return data;
  };
  let report: GrowthReport | undefined;
  // the source's fingerprint is computed in a worker thread while the model grows
  const hashing = weightsHash(sourceDir);
  hashing.catch(() => undefined); // awaited below; a failure then is the grow's
  try {
    const t = modelShape(plan.target);
    log(
      `growing ${sourceDir} with ${plan.method}: hidden ${plan.sourceDims.hidden}->${t.hidden}, ffn ${plan.sourceDims.ffn}->${t.ffn}, heads ${plan.sourceDims.heads}->${t.heads}, kv heads ${plan.sourceDims.kvHeads}->${t.kvHeads}, layers ${plan.sourceDims.layers}->${t.layers}`,
    );
    const started = Date.now();
    let growSeconds = 0;
    let checkSeconds = 0;
    let bytesWritten = 0;
    let mask: MaskSummary | undefined;
    await atomicWriteDir(outDir, async (tmp) => {
      await fs.writeFile(path.join(tmp, 'config.json'), JSON.stringify(toHFConfig(plan.target, raw), null, 2) + '\n');
      const specs = tensorSpecs(plan.target);
      let done = 0;
      const written = await writeModelWeights(
        tmp,
        specs,
        async (name) => {
          const data = await growTensor(plan, name, read, pool);
          for (const a of fetched.splice(0)) if (a !== data) pool.give(a);
          if (++done % 20 === 0 || done === specs.length) log(`  ${done}/${specs.length} tensors`);
          return data;
        },
        {
          metadata,
          onWritten: (a) => pool.give(a),
          ...(opts.maxShardBytes !== undefined ? { maxShardBytes: opts.maxShardBytes } : {}),
          ...(opts.writeQueue ? { queue: opts.writeQueue } : {}),
        },
      );
      if (written.files.length > 1) log(`  written as ${written.files.length - 1} shards with ${INDEX_FILE}`);
      if (plan.spec.masked) mask = await writeGrowthMask(path.join(tmp, MASK_FILE), plan);
      await copySideFiles(sourceDir, tmp);
      await writeOutputMarker(tmp, 'model', 'grow');
      bytesWritten = written.bytes;
      growSeconds = (Date.now() - started) / 1000;
      let check: FunctionCheck | undefined;
      if (opts.check !== false) {
        const checkStart = Date.now();
        const windows = await checkWindowsFor(sourceDir, plan, checkLength !== undefined ? { ...opts, checkLength } : opts);
        log(`checking${mask ? ' the masked model at ramp 0' : ''} on ${windows.count} windows of ${windows.length} tokens (${windows.origin})`);
        const a = await sourceModel(source, raw, sourceDir, read, kept);
        try {
          const b = await loadModel(tmp);
          try {
            check = await checkGrown(a, b, tmp, windows, plan);
          } finally {
            disposeParams(b.params);
          }
        } finally {
          disposeParams(a.params);
        }
        checkSeconds = (Date.now() - checkStart) / 1000;
      }
      const hash = await hashing;
      report = {
        method: plan.method,
        source: { path: path.resolve(sourceDir), sha256: hash.sha256, files: hash.files },
        out: path.resolve(outDir),
        options: { ...plan.resolved },
        seed: plan.resolved.seed,
        layerMap: plan.layers,
        sourceConfig: plan.source,
        targetConfig: plan.target,
        sourceShape: modelShape(plan.source),
        targetShape: t,
        paramsSource: parameterCount(plan.source),
        paramsTarget: parameterCount(plan.target),
        theory: plan.theory,
        ...(mask ? { mask } : {}),
        ...(check ? { check, verdict: check.verdict } : {}),
        seconds: { grow: growSeconds, check: checkSeconds },
        bytesWritten,
      };
      await fs.writeFile(path.join(tmp, GROWTH_FILE), JSON.stringify(growthJson(report), null, 2) + '\n');
    });
  } finally {
    await reader.close();
  }
  if (!report) throw new ScionError(`growing into ${outDir} produced no report`, 'E_GROW', outDir);
  return report;
}

/** The source as a Model for the check, from the arrays growth already read (each array dropped once on the backend). */
async function sourceModel(
  config: ModelConfig,
  rawConfig: Record<string, unknown>,
  dir: string,
  read: (name: string) => Promise<Float32Array>,
  kept: Map<string, Float32Array> | undefined,
): Promise<Model> {
  const params: Params = {};
  try {
    for (const spec of tensorSpecs(config)) {
      params[spec.name] = tf.tensor(await read(spec.name), spec.shape, 'float32');
      kept?.delete(spec.name);
    }
  } catch (e) {
    disposeParams(params);
    throw e;
  }
  return { config, params, rawConfig, dir };
}

/** Checks the grown model `grown` (read from `dir`) against the source; a masked (msg) model at ramp 0. */
async function checkGrown(source: Model, grown: Model, dir: string, windows: CheckWindows, plan: GrowthPlan): Promise<FunctionCheck> {
  const ramp = plan.spec.masked ? await MaskRamp.load(dir, grown.config) : undefined;
  if (!ramp) return checkFunctionPreservation(source, grown, windows, plan.theory.verdict);
  try {
    return await ramp.atStart(grown.params, (params) => checkFunctionPreservation(source, { config: grown.config, params }, windows, plan.theory.verdict));
  } finally {
    ramp.dispose();
  }
}

/** growth.json: the record of how a model was grown. */
export function growthJson(r: GrowthReport): Record<string, unknown> {
  return {
    format: 'scion-growth/1',
    created_at: new Date().toISOString(),
    method: r.method,
    source: r.source,
    options: r.options,
    seed: r.seed,
    layer_map: r.layerMap,
    source_config: toHFConfig(r.sourceConfig),
    target_config: toHFConfig(r.targetConfig),
    params_source: r.paramsSource,
    params_target: r.paramsTarget,
    theory: r.theory,
    ...(r.mask
      ? {
          mask: {
            file: r.mask.file,
            tensors: r.mask.tensors,
            new_entries: r.mask.newEntries,
            entries: r.mask.entries,
            values: '1 where the entry is copied from the source, 0 where it is new',
            ramp: 'W_eff = W * (M + (1 - M) * r), r = min(1, step / K): scion train --mask-ramp K',
            check_at_ramp: 0,
          },
        }
      : {}),
    check: r.check
      ? {
          verdict: r.check.verdict,
          max_abs_logit_diff: r.check.maxAbsLogitDiff,
          worst_tolerance_ratio: r.check.worstToleranceRatio,
          within_exact_tolerance: r.check.withinExactTolerance,
          loss_source: r.check.lossSource,
          loss_grown: r.check.lossGrown,
          loss_change: r.check.lossChange,
          windows: r.check.windows,
          window_length: r.check.length,
          data: r.check.origin,
          tolerance: { logit_abs: LOGIT_ABS_TOL, logit_rel: LOGIT_REL_TOL, loss: LOSS_TOL },
          approximate_loss_bound: APPROX_LOSS_BOUND,
          verdict_scale: VERDICT_SCALE,
        }
      : null,
  };
}
