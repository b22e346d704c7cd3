/**
 * Byte-level BPE training (the GPT-2 recipe, as the Hugging Face `tokenizers` BpeTrainer runs
 * it): the text is cut into pre-tokens by GPT-2's regex and counted once (`WordCounter`); each
 * distinct pre-token is a sequence of byte symbols; the most frequent adjacent pair is merged
 * into a new symbol, again and again, until the vocabulary has the size asked for.
 *
 * Ids: the special tokens first, then the 256 byte characters in code-point order, then one id
 * per new token in the order it was made (a merge that makes an existing string reuses its id).
 * Ties: among pairs of equal count the smallest (left id, right id) wins, so the result depends
 * only on the text, never on iteration order. Pair counts are kept incrementally: a merge
 * touches only the words that hold the pair (an index from pair to words), and a max-heap with
 * lazy deletion finds the next pair, so the corpus is never scanned again after counting.
 */
import { ScionError } from '../errors.ts';
import { BYTE_CHARS, GPT2_PRETOKENIZE } from './byte-level.ts';

/** Counts the distinct pre-tokens of the text it is given (in pieces). */
export class WordCounter {
  readonly counts = new Map<string, number>();
  /** Pre-tokens seen, with repeats. */
  total = 0;
  add(text: string): void {
    for (const m of text.matchAll(GPT2_PRETOKENIZE)) {
      const w = m[0];
      this.counts.set(w, (this.counts.get(w) ?? 0) + 1);
      this.total++;
    }
  }
}

export interface BpeTrainOptions {
  /** Final vocabulary size, special tokens and the 256 bytes included. */
  vocabSize: number;
  /** Added first, in order (ids 0, 1, ...). */
  specialTokens: string[];
  /** Stop early when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  onProgress?: (merges: number, wanted: number) => void;
}

export interface BpeModel {
  /** Token strings by id (byte-level characters; special tokens as written). */
  vocab: string[];
  /** The merges in the order they were learned, as [left, right] token strings. */
  merges: [string, string][];
  specialTokens: string[];
  /** Why training stopped: the vocabulary is full, or no pair occurs `minFrequency` times. */
  stopped: 'vocab-size' | 'min-frequency';
  /** Tokens the counted text encodes to with these merges (each pre-token's final symbols x its count). */
  tokens: number;
}

/** Largest vocabulary a pair key can hold (left * KEY_BASE + right stays an exact integer). */
const KEY_BASE = 1 << 21;

/** Max-heap of (count, pair key): highest count first, then the smallest key (left id, then right id). */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];
  get size(): number {
    return this.counts.length;
  }
  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.counts.length && this.above(l, best)) best = l;
        if (r < this.counts.length && this.above(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}

/** `word` with every non-overlapping (a, b), left to right, replaced by `id`; the same array when it has none. */
function mergeWord(word: Int32Array, a: number, b: number, id: number): Int32Array {
  let found = false;
  for (let i = 0; i + 1 < word.length; i++) if (word[i] === a && word[i + 1] === b) found = true;
  if (!found) return word;
  const out: number[] = [];
  for (let i = 0; i < word.length; i++) {
    if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
      out.push(id);
      i++;
    } else out.push(word[i]!);
  }
  return Int32Array.from(out);
}

/** The pair keys of `word`'s adjacent symbols, with repeats. */
function pairsOf(word: Int32Array, each: (key: number) => void): void {
  for (let i = 0; i + 1 < word.length; i++) each(word[i]! * KEY_BASE + word[i + 1]!);
}

/** Learns byte-level BPE merges from pre-token counts. Deterministic: the same counts give the same model. */
export function trainBpe(counts: Map<string, number>, o: BpeTrainOptions): BpeModel {
  const specials = o.specialTokens;
  if (new Set(specials).size !== specials.length) throw new ScionError(`special tokens listed twice: ${specials.join(', ')}`, 'E_USAGE');
  const base = specials.length + 256;
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < base || o.vocabSize >= KEY_BASE)
    throw new ScionError(
      `--vocab-size must be an integer from ${base} (${specials.length} special token(s) + 256 bytes) to ${KEY_BASE - 1}, got ${o.vocabSize}`,
      'E_USAGE',
    );
  const minFrequency = Math.max(1, o.minFrequency ?? 2);
  // ids: specials, then the byte characters in code-point order
  const alphabet = [...BYTE_CHARS].sort((x, y) => x.codePointAt(0)! - y.codePointAt(0)!);
  const vocab = [...specials, ...alphabet];
  const idOf = new Map<string, number>(vocab.map((t, i) => [t, i]));
  const byteId = BYTE_CHARS.map((c) => idOf.get(c)!);

  const words: Int32Array[] = [];
  const freq: number[] = [];
  for (const [w, c] of counts) {
    words.push(Int32Array.from(Buffer.from(w, 'utf8'), (b) => byteId[b]!));
    freq.push(c);
  }
  const pairCount = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  words.forEach((word, wi) =>
    pairsOf(word, (k) => {
      pairCount.set(k, (pairCount.get(k) ?? 0) + freq[wi]!);
      let s = where.get(k);
      if (!s) where.set(k, (s = new Set()));
      s.add(wi);
    }),
  );
  const heap = new PairHeap();
  for (const [k, c] of pairCount) heap.push(c, k);

  const merges: [string, string][] = [];
  const wanted = o.vocabSize - vocab.length;
  let stopped: BpeModel['stopped'] = 'vocab-size';
  while (vocab.length < o.vocabSize) {
    if (heap.size === 0) {
      stopped = 'min-frequency';
      break;
    }
    const { count, key } = heap.pop();
    if (pairCount.get(key) !== count) continue; // stale: the pair's count changed since this entry
    if (count < minFrequency) {
      stopped = 'min-frequency';
      break;
    }
    const a = Math.floor(key / KEY_BASE);
    const b = key % KEY_BASE;
    const text = vocab[a]! + vocab[b]!;
    let id = idOf.get(text);
    if (id === undefined) {
      id = vocab.length;
      vocab.push(text);
      idOf.set(text, id);
    }
    merges.push([vocab[a]!, vocab[b]!]);
    const delta = new Map<number, number>();
    const gained = new Map<number, number[]>();
    for (const wi of where.get(key) ?? []) {
      const before = words[wi]!;
      const after = mergeWord(before, a, b, id);
      if (after === before) continue; // the index is lazy: this word lost the pair in an earlier merge
      words[wi] = after;
      const f = freq[wi]!;
      pairsOf(before, (k) => delta.set(k, (delta.get(k) ?? 0) - f));
      pairsOf(after, (k) => {
        delta.set(k, (delta.get(k) ?? 0) + f);
        let g = gained.get(k);
        if (!g) gained.set(k, (g = []));
        g.push(wi);
      });
    }
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const c = (pairCount.get(k) ?? 0) + d;
      if (c > 0) {
        pairCount.set(k, c);
        heap.push(c, k);
      } else pairCount.delete(k);
    }
    for (const [k, ws] of gained) {
      let s = where.get(k);
      if (!s) where.set(k, (s = new Set()));
      for (const wi of ws) s.add(wi);
    }
    pairCount.delete(key);
    where.delete(key);
    o.onProgress?.(merges.length, wanted);
  }
  const tokens = words.reduce((n, w, wi) => n + w.length * freq[wi]!, 0);
  return { vocab, merges, specialTokens: [...specials], stopped, tokens };
}
