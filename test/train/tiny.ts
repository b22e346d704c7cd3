/** A tiny GPT-2 model folder (byte tokenizer) and a text file, for fast training tests. */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../../electron/engine/backend.ts';
import type { GPT2Config, ModelConfig } from '../../electron/engine/models/config.ts';
import { disposeParams, saveModel } from '../../electron/engine/models/model.ts';
import { initParams } from '../../electron/engine/train/init.ts';

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
