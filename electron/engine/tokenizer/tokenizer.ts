/**
 * Text <-> token ids. A model folder's `tokenizer.json` runs through `@huggingface/tokenizers`
 * (pure JS, the same ids as the Rust `tokenizers`); a folder without one gets the byte-level
 * fallback (ids = UTF-8 bytes, vocab 256).
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';

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
  let spec: unknown;
  let config: unknown = {};
  try {
    spec = JSON.parse(json);
    if (configJson) config = JSON.parse(configJson);
  } catch (e) {
    throw new ScionError(`${file}: not valid JSON (${(e as Error).message})`, 'E_TOKENIZER', file);
  }
  try {
    const tok = new Tokenizer(spec as object, config as object);
    return new HFTokenizer(tok, createHash('sha256').update(json).digest('hex').slice(0, 12));
  } catch (e) {
    throw new ScionError(`${file}: this tokenizer is not supported (${(e as Error).message})`, 'E_TOKENIZER', file);
  }
}

/** The tokenizer of a model folder: its tokenizer.json, or bytes when it has none. */
export async function loadTokenizer(modelDir: string): Promise<TextTokenizer> {
  const file = path.join(modelDir, 'tokenizer.json');
  if (!existsSync(file)) return new ByteTokenizer();
  const cfgFile = path.join(modelDir, 'tokenizer_config.json');
  const cfg = existsSync(cfgFile) ? await fs.readFile(cfgFile, 'utf8') : undefined;
  return tokenizerFromJson(await fs.readFile(file, 'utf8'), cfg, file);
}
