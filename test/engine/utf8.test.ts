/**
 * The streamed UTF-8 check of text datasets: the Unicode standard's ill-formed sequences
 * (overlong forms, surrogates, above U+10FFFF, stray continuation bytes, a sequence cut off at
 * the end) are found at the offset of their first byte, and the answer does not depend on
 * where the file is cut into pieces; valid text cut inside a character is accepted.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tokenizeTextFile } from '../../electron/engine/data/dataset.ts';
import { Utf8Stream, firstInvalidUtf8 } from '../../electron/engine/data/utf8.ts';
import { ByteTokenizer } from '../../electron/engine/tokenizer/tokenizer.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Pushes `bytes` in pieces cut at `cuts` through one reused buffer, as a file reader does. */
function streamed(bytes: Uint8Array, cuts: number[]): number {
  const s = new Utf8Stream();
  const buf = new Uint8Array(bytes.length);
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    buf.fill(0xff);
    buf.set(bytes.subarray(at, c));
    const bad = s.push(buf.subarray(0, c - at));
    if (bad >= 0) return bad;
    at = c;
  }
  return s.end();
}

const ILL_FORMED: Array<[string, number[], number]> = [
  ['stray continuation byte', [0x61, 0x80, 0x62], 1],
  ['overlong 2-byte (C0 80)', [0x61, 0xc0, 0x80], 1],
  ['overlong 3-byte (E0 80 80)', [0xe0, 0x80, 0x80], 0],
  ['surrogate (ED A0 80)', [0x61, 0x62, 0xed, 0xa0, 0x80], 2],
  ['above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80], 0],
  ['F5 lead', [0x61, 0xf5, 0x80, 0x80, 0x80], 1],
  ['lead then ASCII (Latin-1 é)', [0x63, 0x61, 0x66, 0xe9, 0x20], 3],
  ['cut off at the end', [0x61, 0xe2, 0x82], 1],
  ['second sequence bad after a good one', [0xc3, 0xa9, 0xe2, 0x82, 0x41], 2],
];

test('ill-formed sequences are found at their first byte, wherever the pieces are cut', () => {
  for (const [what, seq, at] of ILL_FORMED) {
    const bytes = new Uint8Array([...Buffer.from('valid prefix ü € 𝄞 '), ...seq, ...Buffer.from(' tail')]);
    const offset = Buffer.byteLength('valid prefix ü € 𝄞 ') + at;
    assert.equal(firstInvalidUtf8(bytes), offset, what);
    for (let a = 0; a <= bytes.length; a++) {
      for (const b of [a, a + 1, a + 2, a + 3]) {
        if (b > bytes.length) continue;
        assert.equal(streamed(bytes, a === b ? [a] : [a, b]), offset, `${what}, cut at ${a} and ${b}`);
      }
    }
  }
});

test('random bytes: the streamed answer agrees with Node on validity and is a clean prefix', () => {
  let x = 99;
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648);
  const pieces = [Buffer.from('aé€𝄞'), Buffer.from([0x80]), Buffer.from([0xe2, 0x82]), Buffer.from([0xf0, 0x9f]), Buffer.from([0xff])];
  for (let round = 0; round < 2000; round++) {
    const parts: Buffer[] = [];
    for (let i = 0; i < 6; i++) parts.push(pieces[rand() % (round % 3 === 0 ? pieces.length : 1)]!);
    const bytes = new Uint8Array(Buffer.concat(parts));
    const cuts = [rand() % (bytes.length + 1)].sort((a, b) => a - b);
    const bad = streamed(bytes, cuts);
    assert.equal(bad < 0, isUtf8(bytes), `round ${round}`);
    if (bad >= 0) assert.ok(isUtf8(bytes.subarray(0, bad)), `round ${round}: everything before ${bad} is valid`);
    assert.equal(bad, firstInvalidUtf8(bytes), `round ${round}: the same as in one piece`);
  }
});

test('valid text cut inside its characters is read whole', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'multi.txt');
  const text = 'naïve café — 𝄞 señor\n'.repeat(50);
  writeFileSync(file, text);
  for (const chunk of [5, 7, 64]) {
    const ids = await tokenizeTextFile(file, new ByteTokenizer(), undefined, chunk);
    assert.deepEqual(Buffer.from(Array.from(ids)), Buffer.from(text), `pieces of ${chunk} bytes`);
  }
});
