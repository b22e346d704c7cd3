/**
 * A model in memory: its config and its parameters as tensors. Loading reads a Hugging Face
 * folder (config.json + safetensors) and checks every tensor's name and shape against the
 * family's list; saving writes a folder `transformers` loads with `from_pretrained`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError, userMessage } from '../errors.ts';
import { atomicWriteDir, recoverInterrupted } from '../io/atomic.ts';
import { assertFinite } from '../io/dtype.ts';
import { openWeightFiles } from '../io/weight-files.ts';
import { writeModelWeights } from '../io/model-weights.ts';
import { type ModelConfig, parseHFConfig, toHFConfig } from './config.ts';
import { canonicalName, ignoredTensor, tensorSpecs } from './family.ts';
import type { Params } from './params.ts';
import { checkSideFiles, copySideFiles, tokenizerMetadata } from './side-files.ts';

export { copySideFiles };

export interface Model {
  config: ModelConfig;
  params: Params;
  /** The original config.json, so fields we do not model survive an export. */
  rawConfig: Record<string, unknown>;
  /** The folder it was loaded from, if any (for the tokenizer). */
  dir?: string;
}

/**
 * Reads and parses `<dir>/config.json`. A folder missing because a replace of it was killed
 * half-way (atomic.ts) is put back first.
 */
export async function readModelConfig(dir: string): Promise<{ config: ModelConfig; raw: Record<string, unknown> }> {
  if (!existsSync(dir)) await recoverInterrupted(path.dirname(path.resolve(dir)));
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw new ScionError(`${dir}: not a folder (a model is a folder with config.json and model.safetensors)`, 'E_NOT_A_MODEL', dir);
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof ScionError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ScionError(existsSync(dir) ? `${dir}: not a model folder: config.json is missing` : `${dir}: folder not found`, 'E_NOT_A_MODEL', dir);
    }
    throw new ScionError(userMessage(e, file), 'E_NOT_A_MODEL', file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ScionError(`${file}: not valid JSON (${(e as Error).message})`, 'E_CONFIG', file);
  }
  return { config: parseHFConfig(raw, file), raw: raw as Record<string, unknown> };
}

/** Random access to a model folder's tensors by canonical name. */
export interface WeightReader {
  /** `into`: an array to read into when it has the tensor's size and the file stores F32 (a reused array). */
  get(name: string, into?: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

/**
 * Opens the weight files of a model folder (io/weight-files.ts) for reads by canonical name, after checking every
 * tensor's name and shape against the config: unknown tensors are an error, known buffers
 * (GPT-2's attn.bias, a tied head, rotary inv_freq) are skipped. Every tensor read is checked
 * for NaN and infinite values (refused, naming the file and the tensor).
 */
export async function openModelWeights(dir: string, config: ModelConfig): Promise<WeightReader> {
  const ckpt = await openWeightFiles(dir);
  try {
    const stored = new Map<string, string>();
    for (const n of ckpt.names()) if (!ignoredTensor(config, n)) stored.set(canonicalName(config, n), n);
    const specs = tensorSpecs(config);
    const wanted = new Set(specs.map((s) => s.name));
    for (const [c, n] of stored) {
      if (!wanted.has(c))
        throw new ScionError(
          `${dir}: checkpoint tensor '${n}' is not part of a ${config.family} model with this config.json (unsupported tensor)`,
          'E_CHECKPOINT',
          dir,
        );
    }
    for (const spec of specs) {
      const n = stored.get(spec.name);
      if (!n) throw new ScionError(`${dir}: checkpoint has no tensor '${spec.name}' (config.json says the model needs it)`, 'E_CHECKPOINT', dir);
      const shape = ckpt.info(n).shape;
      if (shape.join(',') !== spec.shape.join(',')) {
        throw new ScionError(`${dir}: tensor '${n}' has shape [${shape.join(', ')}], but config.json implies [${spec.shape.join(', ')}]`, 'E_CHECKPOINT', dir);
      }
    }
    return {
      get: async (name, into) => {
        const n = stored.get(name);
        if (!n) throw new ScionError(`${dir}: no tensor '${name}' in the checkpoint`, 'E_CHECKPOINT', dir);
        const data = await ckpt.readFloat32(n, into);
        assertFinite(data, ckpt.fileOf(n), n);
        return data;
      },
      close: () => ckpt.close(),
    };
  } catch (e) {
    await ckpt.close();
    throw e;
  }
}

/** Reads every tensor of a model folder as float32 arrays, in the family's order, checked as above. */
export async function readWeightArrays(
  dir: string,
  config: ModelConfig,
  visit: (name: string, shape: number[], data: Float32Array) => void | Promise<void>,
): Promise<void> {
  const reader = await openModelWeights(dir, config);
  try {
    for (const spec of tensorSpecs(config)) await visit(spec.name, spec.shape, await reader.get(spec.name));
  } finally {
    await reader.close();
  }
}

/** Loads a Hugging Face model folder into tensors on the active backend. */
export async function loadModel(dir: string): Promise<Model> {
  const { config, raw } = await readModelConfig(dir);
  const params: Params = {};
  try {
    await readWeightArrays(dir, config, (name, shape, data) => {
      params[name] = tf.tensor(data, shape, 'float32');
    });
  } catch (e) {
    disposeParams(params);
    throw e;
  }
  return { config, params, rawConfig: raw, dir };
}

export function disposeParams(p: Params): void {
  for (const t of Object.values(p)) t.dispose();
}

export interface SaveOptions {
  /** Copy the tokenizer and generation files from this folder. */
  copyFrom?: string;
  /** Extra files to write: name -> contents. */
  extraFiles?: Record<string, string>;
  /** Safetensors metadata. */
  metadata?: Record<string, string>;
  /** Bytes of tensor data per weight file at most; larger models are written as shards (default 5 GB). */
  maxShardBytes?: number;
}

/**
 * Writes a Hugging Face folder (config.json, model.safetensors or shards, tokenizer files) atomically:
 * built in a temporary folder, then renamed over `dir`. Tensors are read back one at a time.
 */
export async function saveModel(
  dir: string,
  config: ModelConfig,
  params: Params,
  rawConfig: Record<string, unknown> = {},
  opts: SaveOptions = {},
): Promise<void> {
  await writeModelFolder(dir, config, rawConfig, opts, async (name) => {
    const t = params[name];
    if (!t) throw new ScionError(`cannot save ${dir}: parameter '${name}' is missing`, 'E_CHECKPOINT', dir);
    return (await t.data()) as Float32Array;
  });
}

/**
 * Writes the model folder `from` (any weights loadModel reads: shards, F16/BF16) to `dir` as a
 * float32 Hugging Face folder with its side files, streaming one tensor at a time (no backend,
 * never the whole model in memory); every tensor checked as openModelWeights does.
 */
export async function exportModel(from: string, dir: string, opts: SaveOptions = {}): Promise<ModelConfig> {
  const { config, raw } = await readModelConfig(from);
  const reader = await openModelWeights(from, config);
  try {
    await writeModelFolder(dir, config, raw, { ...opts, copyFrom: from }, reader.get);
  } finally {
    await reader.close();
  }
  return config;
}

/** saveModel and exportModel: the folder written atomically, its tensors from `get` one at a time. */
async function writeModelFolder(
  dir: string,
  config: ModelConfig,
  rawConfig: Record<string, unknown>,
  opts: SaveOptions,
  get: (name: string) => Promise<Float32Array>,
): Promise<void> {
  // the side files are checked before anything is written; the weights name the tokenizer they go with
  if (opts.copyFrom) await checkSideFiles(opts.copyFrom);
  const metadata = { ...(opts.metadata ?? { format: 'pt' }), ...(opts.copyFrom ? await tokenizerMetadata(opts.copyFrom) : {}) };
  await atomicWriteDir(dir, async (tmp) => {
    await fs.writeFile(path.join(tmp, 'config.json'), JSON.stringify(toHFConfig(config, rawConfig), null, 2) + '\n');
    await writeModelWeights(tmp, tensorSpecs(config), get, { metadata, ...(opts.maxShardBytes !== undefined ? { maxShardBytes: opts.maxShardBytes } : {}) });
    if (opts.copyFrom) await copySideFiles(opts.copyFrom, tmp);
    for (const [name, text] of Object.entries(opts.extraFiles ?? {})) await fs.writeFile(path.join(tmp, name), text);
  });
}
