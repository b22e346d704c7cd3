/**
 * `scion tokenizer train`: counts the pre-tokens of the training text (UTF-8 files, each
 * optionally a byte slice `file#FROM-TO`), learns byte-level BPE merges (bpe-train.ts), and
 * writes a tokenizer folder atomically under the output-folder policy: tokenizer.json,
 * tokenizer_config.json, tokenizer-train.json (what it was trained on, how long, tokens per
 * byte) and Scion's marker. The written tokenizer.json is loaded back through Scion's own
 * loader before the folder is moved into place, so a folder that appears is one that loads.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readTextPieces } from '../data/dataset.ts';
import { ScionError } from '../errors.ts';
import { atomicWriteDir } from '../io/atomic.ts';
import { checkOutputDir, writeOutputMarker } from '../io/out-dir.ts';
import { parseDataSpec } from '../train/data.ts';
import { type BpeModel, trainBpe, WordCounter } from './bpe-train.ts';
import { tokenizerConfigJson, tokenizerJson } from './tokenizer-json.ts';
import { tokenizerFromJson } from './tokenizer.ts';

export const DEFAULT_SPECIAL_TOKENS = ['<|endoftext|>'];

export interface TrainTokenizerOptions {
  /** Text files, each optionally `file#FROM-TO` (a fraction of its bytes, cut at character boundaries). */
  data: string[];
  vocabSize: number;
  out: string;
  specialTokens?: string[];
  minFrequency?: number;
  /** model_max_length in tokenizer_config.json (default 1024). */
  modelMaxLength?: number;
  force?: boolean;
  onLog?: (line: string) => void;
}

export interface TrainedTokenizer {
  out: string;
  vocabSize: number;
  merges: number;
  stopped: BpeModel['stopped'];
  bytes: number;
  tokens: number;
  tokensPerByte: number;
  preTokens: number;
  distinctPreTokens: number;
  seconds: { count: number; merge: number; total: number };
  /** The fingerprint Scion's loader gives the tokenizer (names token caches, recorded in weights). */
  fingerprint: string;
  /** What tokenizer-train.json holds (and `--json` prints). */
  record: ReturnType<typeof trainRecord>;
}

/** The record written as tokenizer-train.json. */
function trainRecord(
  o: TrainTokenizerOptions,
  sources: { spec: string; bytes: number; sha256: string }[],
  m: BpeModel,
  r: Omit<TrainedTokenizer, 'out' | 'fingerprint' | 'record'>,
) {
  return {
    format: 'scion-tokenizer-train/1',
    created: new Date().toISOString(),
    kind: 'byte-level BPE (GPT-2 pre-tokenization and byte map)',
    data: sources,
    vocab_size_asked: o.vocabSize,
    vocab_size: m.vocab.length,
    special_tokens: m.specialTokens,
    min_frequency: o.minFrequency ?? 2,
    merges: m.merges.length,
    stopped: m.stopped,
    bytes: r.bytes,
    tokens: r.tokens,
    tokens_per_byte: r.tokensPerByte,
    pre_tokens: r.preTokens,
    distinct_pre_tokens: r.distinctPreTokens,
    seconds: r.seconds,
  };
}

export async function trainTokenizer(o: TrainTokenizerOptions): Promise<TrainedTokenizer> {
  const log = o.onLog ?? (() => undefined);
  if (o.data.length === 0) throw new ScionError('scion tokenizer train: give the training text with --data <file>', 'E_USAGE');
  const specs = o.data.map((spec) => ({ spec, ...parseDataSpec(spec) }));
  for (const d of specs) if (!existsSync(d.file)) throw new ScionError(`${d.file}: dataset not found`, 'E_DATASET', d.file);
  const specials = o.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
  if (specials.some((t) => t === '')) throw new ScionError('--special: a special token cannot be empty', 'E_USAGE');
  // the vocabulary size is checked before the text is read
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < specials.length + 256)
    throw new ScionError(
      `--vocab-size must be at least ${specials.length + 256} (${specials.length} special token(s) + 256 bytes), got ${o.vocabSize}`,
      'E_USAGE',
    );
  const inputs = specs.map((d) => ({ what: '--data', path: d.file }));
  await checkOutputDir({ out: o.out, kind: 'tokenizer', command: 'tokenizer train', inputs, force: o.force === true });
  if (!existsSync(path.dirname(path.resolve(o.out)))) throw new ScionError(`${o.out}: its parent folder does not exist`, 'E_USAGE', o.out);

  const t0 = Date.now();
  const counter = new WordCounter();
  const sources: { spec: string; bytes: number; sha256: string }[] = [];
  let bytes = 0;
  for (const d of specs) {
    const size = (await fs.stat(d.file)).size;
    const range = { start: Math.floor(d.from * size), end: Math.floor(d.to * size) };
    const hash = createHash('sha256');
    let n = 0;
    await readTextPieces(
      d.file,
      (text) => {
        const b = Buffer.from(text, 'utf8');
        hash.update(b);
        n += b.length;
        counter.add(text);
      },
      { range },
    );
    bytes += n;
    sources.push({ spec: d.spec, bytes: n, sha256: hash.digest('hex') });
    log(`read ${d.spec}: ${n} bytes`);
  }
  if (bytes === 0) throw new ScionError(`${specs[0]!.file}: no text to train on`, 'E_DATASET', specs[0]!.file);
  const t1 = Date.now();
  log(
    `${counter.total} pre-tokens, ${counter.counts.size} distinct (${((t1 - t0) / 1000).toFixed(1)} s); learning ${o.vocabSize - specials.length - 256} merges`,
  );
  let lastTenth = 0;
  const m = trainBpe(counter.counts, {
    vocabSize: o.vocabSize,
    specialTokens: specials,
    ...(o.minFrequency !== undefined ? { minFrequency: o.minFrequency } : {}),
    onProgress: (done, wanted) => {
      const tenth = Math.floor((10 * done) / wanted);
      if (tenth > lastTenth) log(`  ${done}/${wanted} merges`);
      lastTenth = tenth;
    },
  });
  const t2 = Date.now();
  if (m.stopped === 'min-frequency') log(`stopped at ${m.vocab.length} tokens: no pair occurs ${o.minFrequency ?? 2} times or more (asked for ${o.vocabSize})`);
  const result = {
    vocabSize: m.vocab.length,
    merges: m.merges.length,
    stopped: m.stopped,
    bytes,
    tokens: m.tokens,
    tokensPerByte: m.tokens / bytes,
    preTokens: counter.total,
    distinctPreTokens: counter.counts.size,
    seconds: { count: (t1 - t0) / 1000, merge: (t2 - t1) / 1000, total: (t2 - t0) / 1000 },
  };
  const json = JSON.stringify(tokenizerJson(m), null, 2) + '\n';
  const config = JSON.stringify(tokenizerConfigJson(m, o.modelMaxLength ?? 1024), null, 2) + '\n';
  const record = trainRecord(o, sources, m, result);
  const fingerprint = tokenizerFromJson(json, config, path.join(o.out, 'tokenizer.json')).fingerprint; // refused here if it does not load
  await atomicWriteDir(o.out, async (tmp) => {
    await fs.writeFile(path.join(tmp, 'tokenizer.json'), json);
    await fs.writeFile(path.join(tmp, 'tokenizer_config.json'), config);
    await fs.writeFile(path.join(tmp, 'tokenizer-train.json'), JSON.stringify(record, null, 2) + '\n');
    await writeOutputMarker(tmp, 'tokenizer', 'tokenizer train');
  });
  log(`wrote ${o.out}: ${m.vocab.length} tokens, ${result.tokensPerByte.toFixed(4)} tokens per byte of the training text`);
  return { out: o.out, ...result, fingerprint, record };
}
