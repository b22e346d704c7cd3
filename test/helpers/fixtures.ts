/** Paths and expected outputs of the reference models in test/fixtures/hf (made by HF transformers). */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'hf');
export const FIXTURE_MODELS = ['gpt2-random-d64-l2', 'gpt2-shakespeare-d64-l2', 'llama-shakespeare-h64-l2', 'llama-shakespeare-h64-l2-hypercloned-x2'] as const;
export type FixtureName = (typeof FIXTURE_MODELS)[number];

export function fixtureDir(name: FixtureName): string {
  return path.join(FIXTURES, name);
}

export interface ExpectedJson {
  eval_loss: number;
  ctx: number;
  tokenizer_samples: Array<{ text: string; ids: number[] }>;
}

export function expectedJson(name: FixtureName): ExpectedJson {
  return JSON.parse(readFileSync(path.join(fixtureDir(name), 'expected.json'), 'utf8')) as ExpectedJson;
}

export interface ExpectedTensors {
  probeIds: Int32Array;
  probeShape: [number, number];
  probeLogits: Float32Array;
  evalIds: Int32Array;
  evalShape: [number, number];
}

export async function expectedTensors(name: FixtureName): Promise<ExpectedTensors> {
  const f = await SafetensorsFile.open(path.join(fixtureDir(name), 'expected.safetensors'));
  try {
    return {
      probeIds: await f.readInt32('probe_input_ids'),
      probeShape: f.info('probe_input_ids').shape as [number, number],
      probeLogits: await f.readFloat32('probe_logits'),
      evalIds: await f.readInt32('eval_input_ids'),
      evalShape: f.info('eval_input_ids').shape as [number, number],
    };
  } finally {
    await f.close();
  }
}

export const DATA = path.join(ROOT, 'resources', 'data');
