/**
 * Text <-> token ids. A model folder's `tokenizer.json` runs through `@huggingface/tokenizers`
 * (pure JS, the same ids as the Rust `tokenizers`); a folder without one gets the byte-level
 * fallback (ids = UTF-8 bytes, vocab 256), unless its weights say it was written with a
 * tokenizer (`scion_tokenizer` in model.safetensors' metadata): then it is refused.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { SafetensorsFile } from '../io/safetensors.ts';

/** The safetensors metadata key naming the tokenizer a model folder was written with. */
export const TOKENIZER_METADATA_KEY = 'scion_tokenizer';

export interface TextTokenizer {
  /** 'tokenizer.json' or 'bytes'. */
  kind: 'tokenizer.json' | 'bytes';
  /** A short hash that changes when the tokenizer changes (names token caches). */
  fingerprint: string;
  /** Ids for the text. `specialTokens` adds BOS/EOS as the tokenizer's post-processor says. */
  encode(text: string, specialTokens?: boolean): number[];
  decode(ids: number[]): string;
}

class HFTokenizer implements TextTokenizer {
  readonly kind = 'tokenizer.json' as const;
  constructor(
    private readonly tok: Tokenizer,
    readonly fingerprint: string,
  ) {}
  encode(text: string, specialTokens = false): number[] {
    return this.tok.encode(text, { add_special_tokens: specialTokens }).ids;
  }
  decode(ids: number[]): string {
    return this.tok.decode(ids);
  }
}

export class ByteTokenizer implements TextTokenizer {
  readonly kind = 'bytes' as const;
  readonly fingerprint = 'bytes-v1';
  encode(text: string): number[] {
    return Array.from(Buffer.from(text, 'utf8'));
  }
  decode(ids: number[]): string {
    return Buffer.from(ids.map((i) => i & 0xff)).toString('utf8');
  }
}

/** Parses tokenizer.json text (and tokenizer_config.json if given). */
export function tokenizerFromJson(json: string, configJson: string | undefined, file: string): TextTokenizer {
  const parse = (text: string, name: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ScionError(`${name}: not valid JSON (${(e as Error).message})`, 'E_TOKENIZER', name);
    }
  };
  const spec = parse(json, file);
  const config = configJson ? parse(configJson, path.join(path.dirname(file), 'tokenizer_config.json')) : {};
  try {
    const tok = new Tokenizer(spec as object, config as object);
    tok.encode('Scion checks this tokenizer.', { add_special_tokens: false });
    return new HFTokenizer(tok, tokenizerFingerprint(json));
  } catch (e) {
    throw new ScionError(`${file}: this tokenizer is not supported (${(e as Error).message})`, 'E_TOKENIZER', file);
  }
}

/** A short hash of tokenizer.json's text (names token caches, recorded in the weights). */
export function tokenizerFingerprint(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 12);
}

/** The tokenizer model.safetensors (or its first shard) says the folder was written with, if any. */
export async function recordedTokenizer(modelDir: string): Promise<string | undefined> {
  let weights = path.join(modelDir, 'model.safetensors');
  if (!existsSync(weights)) {
    try {
      const index = JSON.parse(await fs.readFile(path.join(modelDir, 'model.safetensors.index.json'), 'utf8')) as { weight_map?: Record<string, string> };
      const first = Object.values(index.weight_map ?? {})[0];
      if (!first) return undefined;
      weights = path.join(modelDir, first);
    } catch {
      return undefined;
    }
  }
  try {
    const f = await SafetensorsFile.open(weights);
    await f.close();
    return f.metadata[TOKENIZER_METADATA_KEY];
  } catch {
    return undefined; // loading the weights reports what is wrong with them
  }
}

/**
 * The tokenizer of a model folder: its tokenizer.json, or bytes when it has none and was not
 * written with one (then it is refused: its text would be read as meaningless byte ids).
 */
export async function loadTokenizer(modelDir: string): Promise<TextTokenizer> {
  const file = path.join(modelDir, 'tokenizer.json');
  if (!existsSync(file)) {
    const recorded = await recordedTokenizer(modelDir);
    if (recorded)
      throw new ScionError(
        `${modelDir}: this model was made with a tokenizer (${recorded}) but the folder has no tokenizer.json; ` +
          'refusing to read the text as raw bytes. Copy tokenizer.json (and tokenizer_config.json) from the model it was trained from.',
        'E_TOKENIZER_MISSING',
        file,
      );
    return new ByteTokenizer();
  }
  const cfgFile = path.join(modelDir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? await fs.readFile(cfgFile, 'utf8') : undefined;
  return tokenizerFromJson(await fs.readFile(file, 'utf8'), cfg, file);
}
