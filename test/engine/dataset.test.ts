/** Datasets: text files are tokenized in pieces exactly as a whole, cached, and bad files are refused. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadDataset, readBinTokens, tokenizeTextFile } from '../../electron/engine/data/dataset.ts';
import { ByteTokenizer, loadTokenizer } from '../../electron/engine/tokenizer/tokenizer.ts';
import { DATA, fixtureDir } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
after(tmp.cleanup);

describe('datasets', () => {
  test('a text tokenized in pieces equals tokenizing it whole', async () => {
    const tok = await loadTokenizer(fixtureDir('gpt2-shakespeare-d64-l2'));
    // Three unlike corpora, read in 64 KB pieces cut at newlines (multi-byte characters straddle pieces).
    const text = ['wikitext2-valid.txt', 'python-stdlib.txt'].map((f) => readFileSync(path.join(DATA, f), 'utf8').slice(0, 300_000)).join('\n') + ' ü€ ';
    const big = path.join(tmp.dir, 'big.txt');
    writeFileSync(big, text);
    const pieces = await tokenizeTextFile(big, tok, undefined, 64 * 1024);
    const whole = tok.encode(text);
    assert.equal(pieces.length, whole.length);
    assert.deepEqual(Array.from(pieces), whole);
  });

  test('text is cached as tokens next to the file and reused', async () => {
    const tok = await loadTokenizer(fixtureDir('gpt2-shakespeare-d64-l2'));
    const f = path.join(tmp.dir, 'small.txt');
    writeFileSync(f, 'To be, or not to be: that is the question.\n'.repeat(10));
    const first = await loadDataset(f, tok, 512);
    assert.ok(first.cacheFile && existsSync(first.cacheFile));
    assert.equal(path.dirname(first.cacheFile), tmp.dir);
    const second = await loadDataset(f, tok, 512);
    assert.equal(second.cacheFile, first.cacheFile);
    assert.deepEqual(second.ids, first.ids);
    assert.deepEqual(Array.from(first.ids.slice(0, 17)), [399, 305, 12, 221, 271, 322, 288, 305, 26, 324, 325, 268, 221, 445, 379, 402, 14]);
  });

  test('a .bin file of uint16 ids', async () => {
    const f = path.join(tmp.dir, 'ids.bin');
    const buf = Buffer.alloc(8);
    [1, 2, 65535, 7].forEach((v, i) => buf.writeUInt16LE(v, i * 2));
    writeFileSync(f, buf);
    assert.deepEqual(Array.from(await readBinTokens(f)), [1, 2, 65535, 7]);
    await assert.rejects(loadDataset(f, new ByteTokenizer(), 512), /token id 65535 at position 2 is outside the model's vocabulary \(512\)/);
    writeFileSync(f, Buffer.alloc(3));
    await assert.rejects(readBinTokens(f), /size \(3 bytes\) is odd/);
  });

  test('missing, empty and binary files are refused with the file named', async () => {
    const tok = new ByteTokenizer();
    await assert.rejects(loadDataset(path.join(tmp.dir, 'nope.txt'), tok, 256), /nope\.txt: dataset not found/);
    const empty = path.join(tmp.dir, 'empty.txt');
    writeFileSync(empty, '');
    await assert.rejects(loadDataset(empty, tok, 256), /empty\.txt: the file is empty/);
    const bin = path.join(tmp.dir, 'image.png');
    writeFileSync(bin, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]));
    await assert.rejects(loadDataset(bin, tok, 256), /image\.png: this is not a text file/);
  });

  test('the byte-level fallback round-trips UTF-8', () => {
    const tok = new ByteTokenizer();
    const ids = tok.encode('ü €');
    assert.deepEqual(ids, [0xc3, 0xbc, 0x20, 0xe2, 0x82, 0xac]);
    assert.equal(tok.decode(ids), 'ü €');
  });
});
