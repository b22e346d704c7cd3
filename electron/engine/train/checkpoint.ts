/**
 * Training checkpoints inside a run folder: `checkpoints/step-00000120/` holds `model/` (a
 * Hugging Face folder), `optimizer.safetensors` (AdamW moments `m/<name>`, `v/<name>`),
 * `state.json` (step, optimizer step, RNG state = data position, tokens, time) and
 * `manifest.json` (size and SHA-256 of every other file), written last. Each checkpoint is
 * built in a temporary folder and renamed into place. On resume the newest checkpoint whose
 * files match its manifest is used; a corrupt one is reported and skipped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { atomicWriteDir } from '../io/atomic.ts';
import { sha256File } from '../io/file-hash.ts';
import { assertFinite } from '../io/dtype.ts';
import { SafetensorsFile, writeSafetensors } from '../io/safetensors.ts';
import type { ModelConfig } from '../models/config.ts';
import { saveModel } from '../models/model.ts';
import type { Params } from '../models/params.ts';
import type { LossScaleState } from './loss-scale.ts';

export interface CheckpointState {
  version: 1;
  /** Optimizer updates done (the step the run resumes after). */
  step: number;
  /** AdamW's bias-correction step (differs from `step` when moments were carried over). */
  optimizerStep: number;
  /** Rng state: the data position. */
  rng: number;
  /** Batches drawn so far (informational). */
  batches: number;
  tokens: number;
  /** Seconds of training so far. */
  time: number;
  /** f16 runs: the loss scaler's state (loss-scale.ts). */
  lossScale?: LossScaleState;
}

export interface SaveCheckpointInput {
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  params: Params;
  m: Record<string, tf.Tensor>;
  v: Record<string, tf.Tensor>;
  state: CheckpointState;
  /** Folder to copy tokenizer files from. */
  tokenizerFrom?: string;
  /** The model's weight files at most this many bytes of tensor data each (default 5 GB, then shards). */
  maxShardBytes?: number;
  /** Writes more files into the checkpoint folder before the manifest (so they are listed and verified). */
  extra?: (dir: string) => Promise<void>;
}

export function checkpointsDir(runDir: string): string {
  return path.join(runDir, 'checkpoints');
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** Writes optimizer moments as one safetensors file (`m/<name>`, `v/<name>`). */
export async function writeMoments(file: string, m: Record<string, tf.Tensor>, v: Record<string, tf.Tensor>, t: number): Promise<void> {
  const names = Object.keys(m).sort();
  const entries = names.flatMap((n) => [
    { name: `m/${n}`, shape: m[n]!.shape },
    { name: `v/${n}`, shape: v[n]!.shape },
  ]);
  await writeSafetensors(
    file,
    entries,
    async (key) => {
      const [kind, ...rest] = key.split('/');
      const name = rest.join('/');
      return (await (kind === 'm' ? m : v)[name]!.data()) as Float32Array;
    },
    { format: 'scion-adamw', t: String(t) },
  );
}

/** Reads moments written by `writeMoments` as tensors (caller disposes). */
export async function readMoments(file: string): Promise<{ m: Record<string, tf.Tensor>; v: Record<string, tf.Tensor>; t: number }> {
  const f = await SafetensorsFile.open(file);
  const m: Record<string, tf.Tensor> = {};
  const v: Record<string, tf.Tensor> = {};
  try {
    const t = Number(f.metadata['t'] ?? '0');
    if (!Number.isInteger(t) || t < 0) throw new ScionError(`${file}: metadata t = '${f.metadata['t']}' is not a step count`, 'E_CHECKPOINT', file);
    for (const key of f.names()) {
      const [kind, ...rest] = key.split('/');
      const name = rest.join('/');
      if ((kind !== 'm' && kind !== 'v') || !name)
        throw new ScionError(`${file}: tensor '${key}' is not an optimizer moment (expected m/<name> or v/<name>)`, 'E_CHECKPOINT', file);
      const data = await f.readFloat32(key);
      assertFinite(data, file, key);
      (kind === 'm' ? m : v)[name] = tf.tensor(data, f.info(key).shape, 'float32');
    }
    return { m, v, t };
  } catch (e) {
    for (const x of [...Object.values(m), ...Object.values(v)]) x.dispose();
    throw e;
  } finally {
    await f.close();
  }
}

/** Writes a checkpoint for `state.step` atomically; returns its folder. */
export async function saveCheckpoint(runDir: string, input: SaveCheckpointInput): Promise<string> {
  const dir = path.join(checkpointsDir(runDir), checkpointName(input.state.step));
  await fs.mkdir(checkpointsDir(runDir), { recursive: true });
  await atomicWriteDir(dir, async (tmp) => {
    await saveModel(path.join(tmp, 'model'), input.config, input.params, input.rawConfig, {
      ...(input.tokenizerFrom ? { copyFrom: input.tokenizerFrom } : {}),
      ...(input.maxShardBytes !== undefined ? { maxShardBytes: input.maxShardBytes } : {}),
    });
    await writeMoments(path.join(tmp, 'optimizer.safetensors'), input.m, input.v, input.state.optimizerStep);
    await fs.writeFile(path.join(tmp, 'state.json'), JSON.stringify(input.state, null, 2) + '\n');
    if (input.extra) await input.extra(tmp);
    const files: Record<string, { bytes: number; sha256: string }> = {};
    for (const rel of await listFiles(tmp)) {
      const st = await fs.stat(path.join(tmp, rel));
      files[rel.split(path.sep).join('/')] = { bytes: st.size, sha256: await sha256File(path.join(tmp, rel)) };
    }
    await fs.writeFile(path.join(tmp, 'manifest.json'), JSON.stringify({ step: input.state.step, files }, null, 2) + '\n');
  });
  return dir;
}

/** Why a checkpoint folder is unusable, or undefined when every file matches its manifest. */
export async function verifyCheckpoint(dir: string): Promise<string | undefined> {
  let manifest: { step?: unknown; files?: Record<string, { bytes: number; sha256: string }> };
  try {
    manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as typeof manifest;
  } catch (e) {
    return `manifest.json is missing or unreadable (${(e as Error).message})`;
  }
  if (!manifest.files || typeof manifest.files !== 'object') return 'manifest.json lists no files';
  for (const need of ['state.json', 'optimizer.safetensors', 'model/config.json']) {
    if (!manifest.files[need]) return `manifest.json does not list ${need}`;
  }
  // the model's weights: one file, or shards with their index (a larger model)
  if (!manifest.files['model/model.safetensors'] && !manifest.files['model/model.safetensors.index.json'])
    return 'manifest.json lists neither model/model.safetensors nor model/model.safetensors.index.json';
  for (const [rel, want] of Object.entries(manifest.files)) {
    const file = path.join(dir, rel);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch {
      return `${rel} is missing`;
    }
    if (size !== want.bytes) return `${rel} has ${size} bytes, the manifest says ${want.bytes}`;
    if ((await sha256File(file)) !== want.sha256) return `${rel} does not match its SHA-256 in the manifest`;
  }
  return undefined;
}

/** Checkpoint folders of a run, newest first (temporary leftovers of a crash are ignored). */
export async function listCheckpoints(runDir: string): Promise<{ step: number; dir: string }[]> {
  const root = checkpointsDir(runDir);
  if (!existsSync(root)) return [];
  const out: { step: number; dir: string }[] = [];
  for (const name of await fs.readdir(root)) {
    const m = /^step-(\d+)$/.exec(name);
    if (m) out.push({ step: Number(m[1]), dir: path.join(root, name) });
  }
  return out.sort((a, b) => b.step - a.step);
}

/** Removes leftovers of interrupted checkpoint writes (`.step-*.tmp-*`). */
export async function removeCheckpointLeftovers(runDir: string): Promise<void> {
  const root = checkpointsDir(runDir);
  if (!existsSync(root)) return;
  for (const name of await fs.readdir(root)) {
    if (name.startsWith('.') && name.includes('.tmp-')) await fs.rm(path.join(root, name), { recursive: true, force: true });
  }
}

/**
 * The newest checkpoint that verifies. `onSkip` hears about each corrupt one passed over.
 */
export async function latestValidCheckpoint(
  runDir: string,
  onSkip?: (dir: string, why: string) => void,
): Promise<{ step: number; dir: string; state: CheckpointState } | undefined> {
  for (const c of await listCheckpoints(runDir)) {
    const why = await verifyCheckpoint(c.dir);
    if (why) {
      onSkip?.(c.dir, why);
      continue;
    }
    const state = JSON.parse(await fs.readFile(path.join(c.dir, 'state.json'), 'utf8')) as CheckpointState;
    return { ...c, state };
  }
  return undefined;
}

/** Deletes all but the newest `keep` checkpoints. */
export async function pruneCheckpoints(runDir: string, keep: number): Promise<void> {
  const all = await listCheckpoints(runDir);
  for (const c of all.slice(Math.max(1, keep))) await fs.rm(c.dir, { recursive: true, force: true });
}
