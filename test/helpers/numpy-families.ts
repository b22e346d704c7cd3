/**
 * The hand-built OPT and Phi-3 checkpoints of test/fixtures/numpy-families, with the logits a
 * plain numpy forward written from transformers' modeling_opt.py / modeling_phi3.py gives them
 * (scripts/numpy_reference_families.py): an independent reference where transformers is not
 * installed. Not transformers' own numbers (families-reference.test.ts waits for those).
 */
import * as path from 'node:path';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';
import { ROOT } from './fixtures.ts';

export const NUMPY_FAMILIES = path.join(ROOT, 'test', 'fixtures', 'numpy-families');

export const NUMPY_MODELS = ['opt-pre-tied', 'opt-post-proj', 'opt-plain-untied', 'phi3-gqa-partial-w6', 'phi3-full-tied'] as const;
export type NumpyModel = (typeof NUMPY_MODELS)[number];

export const numpyModelDir = (name: NumpyModel): string => path.join(NUMPY_FAMILIES, name);

/** The probe ids int32 [B, T] and the numpy reference logits float32 [B, T, V]. */
export async function numpyProbe(name: NumpyModel): Promise<{ ids: Int32Array; shape: [number, number]; logits: Float32Array }> {
  const f = await SafetensorsFile.open(path.join(numpyModelDir(name), 'expected.safetensors'));
  try {
    return {
      ids: await f.readInt32('probe_input_ids'),
      shape: f.info('probe_input_ids').shape as [number, number],
      logits: await f.readFloat32('probe_logits'),
    };
  } finally {
    await f.close();
  }
}
