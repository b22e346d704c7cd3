/**
 * `scion tokenizer train` (byte-level BPE). Exactness against the reference: trained on tiny
 * Shakespeare with the fixtures' settings, its tokenizer.json has the same vocabulary and merges,
 * byte for byte, as the one Hugging Face `tokenizers` (Rust BpeTrainer) wrote for the fixture
 * models. Then: the first merges of a hand-checked case, determinism, a round trip of arbitrary
 * UTF-8 (bytes never seen in training included) through Scion's own loader, the tokens-per-byte
 * figure equals what the loader's encoder produces, and the output-folder policy, the last
 * through the real CLI in a child process.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { trainBpe, WordCounter } from '../../electron/engine/tokenizer/bpe-train.ts';
import { loadTokenizer } from '../../electron/engine/tokenizer/tokenizer.ts';
import { trainTokenizer } from '../../electron/engine/tokenizer/train-tokenizer.ts';
import { fixtureDir, ROOT } from '../helpers/fixtures.ts';
import { runScion } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';

const SHAKESPEARE = path.join(ROOT, 'resources', 'data', 'tinyshakespeare.txt');
const readJson = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;

function counts(text: string): Map<string, number> {
  const c = new WordCounter();
  c.add(text);
  return c.counts;
}

describe('scion tokenizer train', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  test("tiny Shakespeare, 512 tokens: the same tokenizer.json model as Hugging Face tokenizers' BpeTrainer wrote for the fixtures", async () => {
    const out = path.join(tmp.dir, 'shakespeare');
    // scripts/make-fixtures.py: BpeTrainer(vocab_size=512, special_tokens=['<|endoftext|>'], initial_alphabet=ByteLevel.alphabet()), min_frequency 0
    await trainTokenizer({ data: [SHAKESPEARE], vocabSize: 512, minFrequency: 1, out });
    const mine = readJson(path.join(out, 'tokenizer.json'));
    const hf = readJson(path.join(fixtureDir('gpt2-shakespeare-d64-l2'), 'tokenizer.json'));
    const model = (j: Record<string, unknown>) => j['model'] as { vocab: Record<string, number>; merges: [string, string][] };
    assert.equal(model(mine).merges.length, 255);
    assert.deepEqual(model(mine).merges, model(hf).merges);
    assert.deepEqual(model(mine).vocab, model(hf).vocab);
    for (const k of ['added_tokens', 'pre_tokenizer', 'decoder', 'normalizer', 'post_processor']) assert.deepEqual(mine[k], hf[k], k);
  });

  test('"aaab" repeated: a+a first, then a+b (a tie broken by the smaller ids), then aa+ab, then the spaced word', () => {
    const m = trainBpe(counts('aaab aaab aaab'), { vocabSize: 257 + 4, specialTokens: ['<|endoftext|>'], minFrequency: 1 });
    assert.deepEqual(m.merges, [
      ['a', 'a'],
      ['a', 'b'],
      ['aa', 'ab'],
      ['Ġ', 'aaab'],
    ]);
    assert.deepEqual(m.vocab.slice(257), ['aa', 'ab', 'aaab', 'Ġaaab']);
    assert.equal(m.tokens, 3, 'each of the three words is one token');
    // min frequency 2: the last merge (count 2) is kept, nothing below it is made
    const m2 = trainBpe(counts('aaab aaab aaab'), { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    assert.equal(m2.merges.length, 4);
    assert.equal(m2.stopped, 'min-frequency');
  });

  test('deterministic: the same merges whatever order the words are counted in', () => {
    const text = readFileSync(SHAKESPEARE, 'utf8').slice(0, 200_000);
    const c = counts(text);
    const reversed = new Map([...c].reverse());
    const a = trainBpe(c, { vocabSize: 700, specialTokens: ['<|endoftext|>'] });
    const b = trainBpe(reversed, { vocabSize: 700, specialTokens: ['<|endoftext|>'] });
    assert.equal(a.merges.length, 700 - 257);
    assert.deepEqual(a.merges, b.merges);
    assert.deepEqual(a.vocab, b.vocab);
  });

  test("round trip through Scion's loader: any UTF-8, bytes never seen in training included; the tokens-per-byte figure is the encoder's", async () => {
    const data = path.join(tmp.dir, 'ascii.txt');
    const text = readFileSync(SHAKESPEARE, 'utf8').slice(0, 100_000);
    writeFileSync(data, text);
    const out = path.join(tmp.dir, 'rt');
    const r = await trainTokenizer({ data: [data], vocabSize: 600, specialTokens: ['<|endoftext|>', '<|pad|>'], out });
    const tok = await loadTokenizer(out);
    assert.equal(tok.kind, 'tokenizer.json');
    assert.equal(tok.encode(text).length, r.tokens, 'the training segmentation is what the encoder produces');
    assert.ok(r.tokensPerByte < 0.6, `${r.tokensPerByte}`);
    const samples = [
      'Grüße, 世界! 🌱 naïve café — ½ ∑ x² \u0000\u0001\u007f\t\r\n  spaces  ',
      "it's they'll we've I'd 12345 3.14 <|endoftext|> inside text",
      '\uFEFF\u200Bzero width, combining e\u0301, RTL שלום, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    ];
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20; i++) {
      let s = '';
      for (let j = 0; j < 60; j++) {
        let cp = Math.floor(rand() * 0x10ffff);
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41; // lone surrogates are not UTF-8
        s += String.fromCodePoint(cp);
      }
      samples.push(s);
    }
    for (const s of samples) assert.equal(tok.decode(tok.encode(s)), s);
    // the special tokens are single ids, in order
    assert.deepEqual(tok.encode('<|endoftext|>'), [0]);
    assert.deepEqual(tok.encode('<|pad|>'), [1]);
    const cfg = readJson(path.join(out, 'tokenizer_config.json'));
    assert.equal(cfg['eos_token'], '<|endoftext|>');
    const rec = readJson(path.join(out, 'tokenizer-train.json'));
    assert.equal(rec['vocab_size'], 600);
    assert.equal((rec['data'] as { bytes: number }[])[0]!.bytes, Buffer.byteLength(text));
  });

  test('a byte slice FILE#A-B trains on that part only', async () => {
    const data = path.join(tmp.dir, 'halves.txt');
    writeFileSync(data, 'zzzz '.repeat(200) + '\n' + 'qqqq '.repeat(200));
    const out = path.join(tmp.dir, 'first-half');
    const r = await trainTokenizer({ data: [`${data}#0-0.5`], vocabSize: 262, out });
    const merges = (readJson(path.join(out, 'tokenizer.json'))['model'] as { merges: string[][] }).merges.flat().join('');
    assert.ok(merges.includes('z') && !merges.includes('q'), merges);
    assert.equal(r.bytes, 1000, 'floor(0.5 x 2001 bytes)');
  });

  test('a text that is not UTF-8 is refused, naming the file and offset, before anything is written', async () => {
    const bad = path.join(tmp.dir, 'latin1.txt');
    writeFileSync(bad, Buffer.from([0x61, 0x62, 0x20, 0xe9, 0x74, 0xe9]));
    const out = path.join(tmp.dir, 'never');
    await assert.rejects(
      trainTokenizer({ data: [bad], vocabSize: 300, out }),
      /latin1\.txt: not valid UTF-8 text: the first invalid byte sequence is at byte offset 3/,
    );
    assert.equal(existsSync(out), false);
  });

  test('the real CLI: writes the folder, refuses to replace it without --force, replaces its own with --force, never a foreign folder', () => {
    const out = path.join(tmp.dir, 'cli');
    const args = ['tokenizer', 'train', '--data', SHAKESPEARE, '--vocab-size', '300', '--out', out, '--json'];
    const first = runScion(args);
    assert.equal(first.code, 0, first.stderr);
    const j = JSON.parse(first.stdout) as { vocab_size: number; tokens_per_byte: number };
    assert.equal(j.vocab_size, 300);
    assert.equal(readJson(path.join(out, '.scion-output.json'))['kind'], 'tokenizer');
    const again = runScion(args);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; pass --force/);
    const forced = runScion([...args, '--force', '--vocab-size', '310']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(Object.keys((readJson(path.join(out, 'tokenizer.json'))['model'] as { vocab: object }).vocab).length, 310);
    const foreign = path.join(tmp.dir, 'thesis');
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, 'chapter1.tex'), 'mine');
    const refused = runScion([...args.slice(0, -3), '--out', foreign, '--force']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /chapter1\.tex, which Scion did not write/);
    assert.equal(readFileSync(path.join(foreign, 'chapter1.tex'), 'utf8'), 'mine');
    const small = runScion(['tokenizer', 'train', '--data', SHAKESPEARE, '--vocab-size', '256', '--out', path.join(tmp.dir, 'small')]);
    assert.equal(small.code, 2);
    assert.match(small.stderr, /--vocab-size must be at least 257/);
  });
});
