/**
 * The source's starting folder of a preset (`<out>/source/init`): its config.json and, with
 * `--tokenizer`, that tokenizer's files (its vocabulary size replaces the config's 256 bytes).
 * Says whether it changed since the last run into the same folder, so a source trained with
 * another tokenizer or architecture is never reused.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { type ModelConfig, toHFConfig } from '../models/config.ts';
import { tokenizerFromJson } from '../tokenizer/tokenizer.ts';

/** Ids a tokenizer.json can produce: one past the largest id of its vocabulary and added tokens. */
export function tokenizerVocabSize(json: string, file: string): number {
  const spec = JSON.parse(json) as { model?: { vocab?: Record<string, number> | [string, number][] }; added_tokens?: { id: number }[] };
  const vocab = spec.model?.vocab;
  const ids = [...(Array.isArray(vocab) ? vocab.map((_, i) => i) : Object.values(vocab ?? {})), ...(spec.added_tokens ?? []).map((t) => t.id)];
  if (ids.length === 0) throw new ScionError(`${file}: no vocabulary in this tokenizer.json`, 'E_TOKENIZER', file);
  return Math.max(...ids) + 1;
}

async function readIf(file: string): Promise<string | undefined> {
  return existsSync(file) ? fs.readFile(file, 'utf8') : undefined;
}

/** Writes `<initDir>` for `config` (and `tokenizerDir`'s files); returns whether anything in it changed. */
export async function writeSourceInit(initDir: string, config: ModelConfig, tokenizerDir: string | undefined): Promise<boolean> {
  const files = new Map<string, string | undefined>([
    ['tokenizer.json', undefined],
    ['tokenizer_config.json', undefined],
  ]);
  let cfg = config;
  if (tokenizerDir !== undefined) {
    const tokFile = path.join(tokenizerDir, 'tokenizer.json');
    const json = await readIf(tokFile);
    if (json === undefined)
      throw new ScionError(`${tokenizerDir}: --tokenizer needs a folder with a tokenizer.json (scion tokenizer train writes one)`, 'E_TOKENIZER', tokFile);
    const tokConfig = await readIf(path.join(tokenizerDir, 'tokenizer_config.json'));
    tokenizerFromJson(json, tokConfig, tokFile); // refused here when it does not load
    files.set('tokenizer.json', json);
    files.set('tokenizer_config.json', tokConfig);
    cfg = { ...config, vocabSize: tokenizerVocabSize(json, tokFile) };
  }
  files.set('config.json', JSON.stringify(toHFConfig(cfg, {}), null, 2) + '\n');
  await fs.mkdir(initDir, { recursive: true });
  let changed = false;
  for (const [name, text] of files) {
    const file = path.join(initDir, name);
    const before = await readIf(file);
    if (before === text) continue;
    changed = true;
    if (text === undefined) await fs.rm(file, { force: true });
    else await fs.writeFile(file, text);
  }
  return changed;
}
