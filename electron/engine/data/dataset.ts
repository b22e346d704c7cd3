/**
 * Datasets as token ids. A `.bin` file is little-endian uint16 ids (the nanoGPT convention);
 * anything else is UTF-8 text (checked as it is read: an invalid byte sequence is refused
 * with its offset), tokenized with the model's tokenizer in pieces (so a large file is never
 * one JS string) and cached as a token file next to it (or in the user cache
 * folder when that folder is read-only, or always in SCION_CACHE_DIR when that is set: a project
 * sets it to its own folder). The cache is keyed by the tokenizer and the file's
 * size and modification time.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { ScionError } from '../errors.ts';
import { atomicWriteFile } from '../io/atomic.ts';
import { makeDirs } from '../io/make-dirs.ts';
import type { TextTokenizer } from '../tokenizer/tokenizer.ts';
import { Utf8Stream } from './utf8.ts';

export interface TokenDataset {
  file: string;
  /** Token ids, in order. */
  ids: Uint32Array;
  /** 'bin' (uint16 ids) or 'text'. */
  kind: 'bin' | 'text';
  /** Where the token cache is, for text files. */
  cacheFile?: string;
}

const MAGIC = 'SCIONTOK';
const CHUNK_BYTES = 4 * 1024 * 1024;

async function statFile(file: string) {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new ScionError(`${file}: not a file`, 'E_DATASET', file);
    return st;
  } catch (e) {
    if (e instanceof ScionError) throw e;
    throw new ScionError(`${file}: dataset not found`, 'E_DATASET', file);
  }
}

/** Reads a nanoGPT-style .bin file of little-endian uint16 token ids. */
export async function readBinTokens(file: string, vocabSize?: number): Promise<Uint32Array> {
  const st = await statFile(file);
  if (st.size % 2 !== 0) throw new ScionError(`${file}: a .bin dataset holds uint16 ids, but its size (${st.size} bytes) is odd`, 'E_DATASET', file);
  const buf = await fs.readFile(file);
  const ids = new Uint32Array(buf.byteLength / 2);
  for (let i = 0; i < ids.length; i++) ids[i] = buf.readUInt16LE(i * 2);
  if (vocabSize !== undefined) checkIds(file, ids, vocabSize);
  return ids;
}

function checkIds(file: string, ids: Uint32Array, vocabSize: number): void {
  for (let i = 0; i < ids.length; i++) {
    if (ids[i]! >= vocabSize)
      throw new ScionError(`${file}: token id ${ids[i]} at position ${i} is outside the model's vocabulary (${vocabSize})`, 'E_DATASET', file);
  }
}

/** Index just after a newline inside `s` that sits between non-space characters (safe to cut for BPE). */
function safeCut(s: string): number {
  for (let i = s.length - 1; i > s.length / 2; i--) {
    if (s[i - 1] === '\n' && i >= 2 && !/\s/.test(s[i - 2]!) && !/\s/.test(s[i]!)) return i;
  }
  return -1;
}

/** The error for a text file that is not UTF-8, showing the bytes where it first goes wrong. */
async function notUtf8(file: string, handle: fs.FileHandle, offset: number): Promise<ScionError> {
  const bytes = Buffer.alloc(4);
  const { bytesRead } = await handle.read(bytes, 0, 4, offset);
  const hex = [...bytes.subarray(0, bytesRead)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return new ScionError(
    `${file}: not valid UTF-8 text: the first invalid byte sequence is at byte offset ${offset} (bytes ${hex}); ` +
      'save the file as UTF-8, or give token ids as a .bin file',
    'E_DATASET',
    file,
  );
}

/** Options of `readTextPieces`. */
export interface TextPieceOptions {
  onProgress?: (bytes: number, total: number) => void;
  chunkBytes?: number;
  /** Only bytes [start, end) of the file (moved forward to character boundaries); default the whole file. */
  range?: { start: number; end: number };
}

/** `at` moved forward past UTF-8 continuation bytes, so a range never cuts a character. */
async function charBoundary(handle: fs.FileHandle, at: number, size: number): Promise<number> {
  const b = Buffer.alloc(4);
  while (at > 0 && at < size) {
    await handle.read(b, 0, 1, at);
    if ((b[0]! & 0xc0) !== 0x80) break;
    at++;
  }
  return at;
}

/**
 * Reads a UTF-8 text file in pieces of about `chunkBytes` (4 MB), cut at newlines between
 * non-space characters (safe for BPE pre-tokenization), and hands each piece to `onText`. The
 * text is checked as it is read: invalid UTF-8 or a binary file is refused, naming the file.
 */
export async function readTextPieces(file: string, onText: (text: string) => void, o: TextPieceOptions = {}): Promise<void> {
  const chunkBytes = o.chunkBytes ?? CHUNK_BYTES;
  const st = await statFile(file);
  const handle = await fs.open(file, 'r');
  const decoder = new StringDecoder('utf8');
  let carry = '';
  const start = o.range ? await charBoundary(handle, Math.max(0, o.range.start), st.size) : 0;
  const end = o.range ? await charBoundary(handle, Math.min(st.size, o.range.end), st.size) : st.size;
  let pos = start;
  const buf = Buffer.alloc(chunkBytes);
  let sawBinary = false;
  let invalidAt = -1;
  const utf8 = new Utf8Stream();
  const push = (text: string) => {
    if (text) onText(text);
  };
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(chunkBytes, end - pos), pos);
      if (bytesRead === 0) break;
      if (pos === start && buf.subarray(0, Math.min(bytesRead, 8192)).includes(0)) sawBinary = true;
      if (sawBinary) break;
      invalidAt = utf8.push(buf.subarray(0, bytesRead));
      if (invalidAt >= 0) break;
      pos += bytesRead;
      carry += decoder.write(buf.subarray(0, bytesRead));
      const cut = safeCut(carry);
      if (cut > 0) {
        push(carry.slice(0, cut));
        carry = carry.slice(cut);
      }
      o.onProgress?.(pos - start, end - start);
    }
    if (invalidAt < 0 && !sawBinary) invalidAt = utf8.end();
    if (invalidAt >= 0) throw await notUtf8(file, handle, start + invalidAt);
  } finally {
    await handle.close();
  }
  if (sawBinary) throw new ScionError(`${file}: this is not a text file (it contains NUL bytes); token datasets must end in .bin`, 'E_DATASET', file);
  push(carry + decoder.end());
}

/** Tokenizes a UTF-8 text file in pieces of about `chunkBytes` (4 MB), cut at newlines. */
export async function tokenizeTextFile(
  file: string,
  tok: TextTokenizer,
  onProgress?: (bytes: number, total: number) => void,
  chunkBytes = CHUNK_BYTES,
): Promise<Uint32Array> {
  const parts: Uint32Array[] = [];
  let total = 0;
  await readTextPieces(
    file,
    (text) => {
      const ids = Uint32Array.from(tok.encode(text));
      parts.push(ids);
      total += ids.length;
    },
    { ...(onProgress ? { onProgress } : {}), chunkBytes },
  );
  const ids = new Uint32Array(total);
  let o = 0;
  for (const p of parts) {
    ids.set(p, o);
    o += p.length;
  }
  return ids;
}

function cacheDir(): string {
  return process.env['SCION_CACHE_DIR'] ?? path.join(os.homedir(), '.cache', 'scion', 'tokens');
}

function cacheKey(file: string, size: number, mtimeMs: number, tok: TextTokenizer): string {
  return createHash('sha256')
    .update(`${path.resolve(file)}|${size}|${mtimeMs}|${tok.fingerprint}|utf8-checked`)
    .digest('hex')
    .slice(0, 12);
}

async function readCache(cache: string): Promise<Uint32Array | undefined> {
  try {
    const buf = await fs.readFile(cache);
    if (buf.byteLength < 16 || buf.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const n = buf.readUInt32LE(8);
    if (buf.byteLength !== 16 + 4 * n) return undefined;
    const ids = new Uint32Array(n);
    for (let i = 0; i < n; i++) ids[i] = buf.readUInt32LE(16 + 4 * i);
    return ids;
  } catch {
    return undefined;
  }
}

async function writeCache(candidates: string[], ids: Uint32Array): Promise<string | undefined> {
  const buf = Buffer.alloc(16 + 4 * ids.length);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(ids.length, 8);
  Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength).copy(buf, 16);
  for (const c of candidates) {
    try {
      await makeDirs(path.dirname(c));
      await atomicWriteFile(c, buf);
      return c;
    } catch {
      // read-only folder: try the next place
    }
  }
  return undefined;
}

/**
 * Loads a dataset as token ids for a model with `tok` and `vocabSize`. Text files are
 * tokenized once and cached.
 */
export async function loadDataset(
  file: string,
  tok: TextTokenizer,
  vocabSize: number,
  onProgress?: (bytes: number, total: number) => void,
): Promise<TokenDataset> {
  if (file.endsWith('.bin')) return { file, ids: await readBinTokens(file, vocabSize), kind: 'bin' };
  const st = await statFile(file);
  const key = cacheKey(file, st.size, st.mtimeMs, tok);
  const beside = path.join(path.dirname(file), `.${path.basename(file)}.${key}.tok`);
  const elsewhere = path.join(cacheDir(), `${path.basename(file)}.${key}.tok`);
  // An explicit cache folder (a project's own) wins: then the data's folder is never written to.
  const places = process.env['SCION_CACHE_DIR'] ? [elsewhere] : [beside, elsewhere];
  for (const c of places) {
    if (!existsSync(c)) continue;
    const ids = await readCache(c);
    if (ids) {
      checkIds(file, ids, vocabSize);
      return { file, ids, kind: 'text', cacheFile: c };
    }
  }
  const ids = await tokenizeTextFile(file, tok, onProgress);
  if (ids.length === 0) throw new ScionError(`${file}: the file is empty`, 'E_DATASET', file);
  checkIds(file, ids, vocabSize);
  const cacheFile = await writeCache(places, ids);
  return cacheFile ? { file, ids, kind: 'text', cacheFile } : { file, ids, kind: 'text' };
}
