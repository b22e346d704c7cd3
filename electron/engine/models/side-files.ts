/**
 * The files of a model folder beside its weights: the tokenizer (tokenizer.json and its
 * companions) and the generation config. They are checked before they are used or copied (a
 * tokenizer.json that does not load, a JSON file that does not parse: refused, naming the
 * file), and copied with the model on every save (export, grow, checkpoints, final/).
 *
 * A folder Scion writes with a tokenizer records it in model.safetensors' metadata
 * (`scion_tokenizer`), so a copy of the weights that lost its tokenizer.json is refused
 * instead of being read as bytes.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { TOKENIZER_METADATA_KEY, recordedTokenizer, tokenizerFingerprint, tokenizerFromJson } from '../tokenizer/tokenizer.ts';

/** Tokenizer files, as Hugging Face writes them. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'chat_template.json',
  'chat_template.jinja',
];

/** Copied with the weights whenever Scion writes a model folder. */
export const SIDE_FILES = [...TOKENIZER_FILES, 'generation_config.json'];

/** Checked files: path -> "size|mtime" when they passed (a file that changes is checked again). */
const checked = new Map<string, string>();

async function checkJson(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8');
  try {
    JSON.parse(text);
  } catch (e) {
    throw new ScionError(`${file}: not valid JSON (${(e as Error).message}); the model's ${path.basename(file)} is corrupt`, 'E_TOKENIZER', file);
  }
  return text;
}

/**
 * Checks the side files of `dir` (JSON files parse, tokenizer.json loads and encodes) and
 * returns the names of those present. Throws E_TOKENIZER naming the file.
 */
export async function checkSideFiles(dir: string): Promise<string[]> {
  const present = SIDE_FILES.filter((f) => existsSync(path.join(dir, f)));
  for (const name of present) {
    const file = path.join(dir, name);
    const st = await fs.stat(file);
    const key = `${st.size}|${st.mtimeMs}`;
    if (checked.get(file) === key) continue;
    if (!st.isFile()) throw new ScionError(`${file}: not a file`, 'E_TOKENIZER', file);
    if (name.endsWith('.json')) {
      const text = await checkJson(file);
      if (name === 'tokenizer.json') {
        const cfg = present.includes('tokenizer_config.json') ? await checkJson(path.join(dir, 'tokenizer_config.json')) : undefined;
        tokenizerFromJson(text, cfg, file);
      }
    }
    checked.set(file, key);
  }
  return present;
}

/** Copies the side files of `from` into `to`, after checking them. */
export async function copySideFiles(from: string, to: string): Promise<string[]> {
  const present = await checkSideFiles(from);
  for (const f of present) await fs.copyFile(path.join(from, f), path.join(to, f));
  return present;
}

/**
 * Metadata naming the tokenizer of `dir` for the model.safetensors of a copy of it: its
 * tokenizer.json's, or what its own weights record when the file is missing (so a copy of a
 * folder that lost its tokenizer is refused like the folder itself). Empty when it has none.
 */
export async function tokenizerMetadata(dir: string): Promise<Record<string, string>> {
  const file = path.join(dir, 'tokenizer.json');
  const recorded = existsSync(file) ? `tokenizer.json ${tokenizerFingerprint(await fs.readFile(file, 'utf8'))}` : await recordedTokenizer(dir);
  return recorded ? { [TOKENIZER_METADATA_KEY]: recorded } : {};
}
