/**
 * A streamed UTF-8 check: a file read in pieces is checked piece by piece (Node's native
 * `isUtf8` on each, a sequence cut by a piece boundary carried to the next), and the byte
 * offset of the first invalid sequence is found by a scan by the Unicode standard's table of
 * well-formed byte sequences (Unicode 15, table 3-7: no overlong forms, no surrogates, nothing
 * above U+10FFFF).
 */
import { isUtf8 } from 'node:buffer';

/** Length of the sequence a lead byte starts (0 for a byte that cannot start one). */
function sequenceLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** The allowed range of the second byte after lead `b` (later bytes are always 80..BF). */
function secondByteOk(lead: number, b: number): boolean {
  if (lead === 0xe0) return b >= 0xa0 && b <= 0xbf;
  if (lead === 0xed) return b >= 0x80 && b <= 0x9f;
  if (lead === 0xf0) return b >= 0x90 && b <= 0xbf;
  if (lead === 0xf4) return b >= 0x80 && b <= 0x8f;
  return b >= 0x80 && b <= 0xbf;
}

/** Index of the first byte of the first ill-formed sequence in `bytes` (a cut-off sequence at the end counts), or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const len = sequenceLength(lead);
    if (len === 0 || i + len > n) return i;
    if (!secondByteOk(lead, bytes[i + 1]!)) return i;
    for (let k = 2; k < len; k++) {
      const c = bytes[i + k]!;
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += len;
  }
  return -1;
}

/** Where a trailing sequence that the next piece may complete starts (`bytes.length` when there is none). */
function unfinishedTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let k = 1; k <= Math.min(3, n); k++) {
    const b = bytes[n - k]!;
    if (b < 0x80) return n;
    if (b >= 0xc0) return sequenceLength(b) > k ? n - k : n;
  }
  return n;
}

/** Checks a stream of pieces; `push` and `end` return the absolute offset of the first invalid sequence, or -1. */
export class Utf8Stream {
  /** Bytes of a sequence cut by the end of the last piece, and the offset of the first of them. */
  private pending: Uint8Array = new Uint8Array(0);
  private pendingAt = 0;
  private offset = 0;

  push(piece: Uint8Array): number {
    const start = this.offset;
    this.offset += piece.length;
    let body = piece;
    let bodyAt = start;
    if (this.pending.length > 0) {
      const need = Math.max(1, sequenceLength(this.pending[0]!)) - this.pending.length;
      const joined = new Uint8Array(this.pending.length + Math.min(need, piece.length));
      joined.set(this.pending);
      joined.set(piece.subarray(0, joined.length - this.pending.length), this.pending.length);
      if (joined.length < this.pending.length + need) {
        this.pending = joined; // still unfinished: a piece of one or two bytes
        return -1;
      }
      const bad = firstInvalidUtf8(joined);
      if (bad >= 0) return this.pendingAt + bad;
      body = piece.subarray(need);
      bodyAt = start + need;
      this.pending = new Uint8Array(0);
    }
    const cut = unfinishedTail(body);
    const whole = body.subarray(0, cut);
    if (!isUtf8(whole)) {
      const bad = firstInvalidUtf8(whole);
      if (bad >= 0) return bodyAt + bad;
    }
    if (cut < body.length) {
      this.pending = Uint8Array.from(body.subarray(cut)); // a copy: the caller reuses its buffer
      this.pendingAt = bodyAt + cut;
    }
    return -1;
  }

  /** At the end of the stream: a sequence still unfinished is invalid. */
  end(): number {
    return this.pending.length > 0 ? this.pendingAt : -1;
  }
}
