/** A tiny GPT-2 model folder (byte tokenizer) and a text file, for fast training tests. */
import { writeFileSync } from 'node:fs';
import { after, before } from 'node:test';
import * as path from 'node:path';
import { initBackend } from '../../electron/engine/backend.ts';
import type { GPT2Config, LlamaConfig, ModelConfig } from '../../electron/engine/models/config.ts';
import { disposeParams, saveModel } from '../../electron/engine/models/model.ts';
import { initParams } from '../../electron/engine/train/init.ts';
import type { TrainOptions } from '../../electron/engine/train/options.ts';
import { tempDir } from '../helpers/tmp.ts';

export const TINY: GPT2Config = {
  family: 'gpt2',
  vocabSize: 256,
  nPositions: 32,
  nEmbd: 32,
  nLayer: 1,
  nHead: 2,
  nInner: 64,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
};

/** A tiny Llama: grouped KV heads (4 query heads on 2), untied head. */
/** The GPT-2 of the CLI run tests (child processes): big enough that a run is caught mid-way. */
export const CLI_RUN: GPT2Config = { ...TINY, nPositions: 32, nEmbd: 64, nLayer: 2, nHead: 2, nInner: 128 };

export const TINY_LLAMA: LlamaConfig = {
  family: 'llama',
  vocabSize: 256,
  hiddenSize: 32,
  intermediateSize: 48,
  numHiddenLayers: 1,
  numAttentionHeads: 4,
  numKeyValueHeads: 2,
  headDim: 8,
  maxPositionEmbeddings: 32,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
};

/** Writes a randomly initialised model (no tokenizer.json: bytes) and returns its folder. */
export async function makeTinyModel(root: string, cfg: ModelConfig = TINY, name = 'tiny-model'): Promise<string> {
  await initBackend();
  const dir = path.join(root, name);
  const params = initParams(cfg, 7);
  await saveModel(dir, cfg, params, {});
  disposeParams(params);
  return dir;
}

/** A deterministic English-like text of about `bytes` bytes. */
export function makeText(root: string, bytes = 20000, name = 'text.txt'): string {
  const words = ['the', 'king', 'shall', 'speak', 'of', 'love', 'and', 'war', 'to', 'his', 'lords', 'in', 'a', 'hall', 'where', 'night', 'falls'];
  let s = '';
  let x = 12345;
  while (s.length < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += words[x % words.length] + (x % 11 === 0 ? '.\n' : ' ');
  }
  const file = path.join(root, name);
  writeFileSync(file, s);
  return file;
}

/** In a suite: a temporary folder (`dir`) with the tiny model and a text of `bytes`, made before its tests and removed after. */
export function tinyFixture(bytes = 3000): { readonly dir: string; model: string; data: string } {
  const tmp = tempDir();
  const f = { dir: tmp.dir, model: '', data: '' };
  before(async () => {
    f.model = await makeTinyModel(tmp.dir);
    f.data = makeText(tmp.dir, bytes);
  });
  after(() => tmp.cleanup());
  return f;
}

/** The short from-scratch run the WebGPU training tests compare across backends and precisions (batch 2 x ctx 16). */
export function tinyRun(model: string, data: string, out: string, steps: number): TrainOptions {
  return { model, data, out, init: 'scratch', steps, batch: 2, ctx: 16, lr: 3e-3, warmup: 2, seed: 5, checkpointEvery: 4 };
}
