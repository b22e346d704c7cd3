/**
 * The one list of the files a model folder holds: config.json, the weights (one file or
 * Hugging Face shards with their index), the side files (tokenizer, generation config) and
 * Scion's growth record and mask. The output-folder policy (io/out-dir.ts) reads it as the
 * names Scion may replace in a model folder; a hand-off copies exactly these files.
 */
import { SIDE_FILES } from './side-files.ts';

/** How a model was grown (growth/model-dir.ts). */
export const GROWTH_FILE = 'growth.json';
/** A masked (msg) growth's mask (growth/mask.ts). */
export const MASK_FILE = 'growth-mask.safetensors';

/** Names (or patterns) of the files of a model folder. */
export const MODEL_FOLDER_FILES: readonly (string | RegExp)[] = [
  'config.json',
  'model.safetensors',
  /^model-\d{5}-of-\d{5}\.safetensors$/,
  'model.safetensors.index.json',
  GROWTH_FILE,
  MASK_FILE,
  ...SIDE_FILES,
];

/** Whether `name` is one of a model folder's files. */
export function isModelFolderFile(name: string): boolean {
  return MODEL_FOLDER_FILES.some((p) => (typeof p === 'string' ? p === name : p.test(name)));
}
