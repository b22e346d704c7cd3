/**
 * Input that used to go through with exit 0 is refused by every command, naming the file and
 * the problem, before anything is written and without leaking tensors: weights with a NaN or
 * an infinity (eval, export, grow, train), a tokenizer.json that does not load (grow, export,
 * eval, train, the app's import), a text dataset that is not UTF-8 (eval, train: the byte
 * offset of the first invalid sequence).
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../electron/cli/main.ts';
import { initBackend } from '../../electron/engine/backend.ts';
import { createService } from '../../electron/service/service.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';

const SOURCE = path.join(ROOT, 'resources', 'models', 'gpt2-shakespeare-d64-l2');

/** A copy of the shipped model with `value` written at flat index `index` of tensor `name` (an F32 tensor). */
function poisoned(root: string, dirName: string, name: string, index: number, value: number): string {
  const dir = path.join(root, dirName);
  cpSync(SOURCE, dir, { recursive: true });
  const file = path.join(dir, 'model.safetensors');
  const bytes = readFileSync(file);
  const headerLen = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  assert.equal(header[name]!.dtype, 'F32');
  bytes.writeFloatLE(value, 8 + headerLen + header[name]!.data_offsets[0] + 4 * index);
  writeFileSync(file, bytes);
  return dir;
}

/** Runs a command in this process and checks it failed with `pattern` on stderr, leaking no tensors. */
async function refused(argv: string[], pattern: RegExp): Promise<void> {
  const before = tf.memory().numTensors;
  const r = await runCommand(main, argv);
  assert.equal(r.code, 1, `scion ${argv.join(' ')} exited ${r.code}\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(tf.memory().numTensors, before, `scion ${argv[0]} leaked tensors`);
}

describe('refused input', () => {
  const tmp = tempDir();
  let text: string;
  before(async () => {
    await initBackend('wasm');
    text = path.join(tmp.dir, 'text.txt');
    writeFileSync(text, readFileSync(path.join(ROOT, 'resources', 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 20000));
  });
  after(() => tmp.cleanup());

  test('NaN or infinite weights: eval, export, grow and train refuse them, naming the file and the tensor', async () => {
    const nan = poisoned(tmp.dir, 'nan', 'transformer.h.1.mlp.c_fc.weight', 1234, NaN);
    const inf = poisoned(tmp.dir, 'inf', 'transformer.wte.weight', 5, -Infinity);
    const nanMessage = new RegExp(
      `${nan}/model\\.safetensors: tensor 'transformer\\.h\\.1\\.mlp\\.c_fc\\.weight' has 1 NaN or infinite value \\(the first, NaN, at flat index 1234 of 16384\\)`,
    );
    const infMessage = new RegExp(
      `${inf}/model\\.safetensors: tensor 'transformer\\.wte\\.weight' has 1 NaN or infinite value \\(the first, -Infinity, at flat index 5 of 32768\\)`,
    );
    await refused(['eval', nan, '--data', text], nanMessage);
    await refused(['eval', inf, '--data', text], infMessage);
    const out = (n: string) => path.join(tmp.dir, `nan-out-${n}`);
    await refused(['export', nan, '--out', out('export')], nanMessage);
    await refused(['grow', inf, '--out', out('grow'), '--method', 'hypercloning', '--width-mult', '2'], infMessage);
    await refused(['train', nan, '--data', text, '--steps', '2', '--out', out('train')], nanMessage);
    for (const n of ['export', 'grow', 'train']) assert.equal(existsSync(out(n)), false, `scion ${n} wrote nothing`);
  });

  test('a tokenizer.json that does not load: grow, export, eval and train refuse it, naming the file', async () => {
    const broken = path.join(tmp.dir, 'broken-tokenizer');
    cpSync(SOURCE, broken, { recursive: true });
    const tokFile = path.join(broken, 'tokenizer.json');
    const spec = JSON.parse(readFileSync(tokFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(tokFile, JSON.stringify({ ...spec, model: { type: 'NoSuchModel' } }));
    const message = new RegExp(`${tokFile}: this tokenizer is not supported \\(Unknown TokenizerModel type: NoSuchModel\\)`);
    const out = (n: string) => path.join(tmp.dir, `tok-out-${n}`);
    await refused(['grow', broken, '--out', out('grow'), '--method', 'hypercloning', '--width-mult', '2'], message);
    await refused(['export', broken, '--out', out('export')], message);
    await refused(['eval', broken, '--data', text], message);
    await refused(['train', broken, '--data', text, '--steps', '2', '--out', out('train')], message);
    // a truncated file: not JSON
    writeFileSync(tokFile, readFileSync(path.join(SOURCE, 'tokenizer.json'), 'utf8').slice(0, 5000));
    await refused(['export', broken, '--out', out('export')], new RegExp(`${tokFile}: not valid JSON`));
    // a companion JSON file that does not parse
    writeFileSync(tokFile, readFileSync(path.join(SOURCE, 'tokenizer.json')));
    writeFileSync(path.join(broken, 'special_tokens_map.json'), '{"eos_token": ');
    await refused(['grow', broken, '--out', out('grow'), '--method', 'hypercloning', '--width-mult', '2'], /special_tokens_map\.json: not valid JSON/);
    // the app refuses to import it
    const svc = createService({ recentFile: path.join(tmp.dir, 'recent.json') });
    try {
      await svc.call('project.create', { dir: path.join(tmp.dir, 'proj'), name: 'Refused' });
      await assert.rejects(svc.call('model.import', { path: broken, name: 'broken', copy: false }), /special_tokens_map\.json: not valid JSON/);
      assert.deepEqual((await svc.call('project.state', {})).models, []);
    } finally {
      await svc.close();
    }
    for (const n of ['export', 'grow', 'train']) assert.equal(existsSync(out(n)), false, `scion ${n} wrote nothing`);
  });

  test('a text dataset that is not UTF-8: eval and train refuse it with the byte offset of the first invalid sequence', async () => {
    const bad = path.join(tmp.dir, 'latin1.txt');
    const good = Buffer.from('To be, or not to be, that is the question:\n'.repeat(300), 'utf8');
    const offset = good.length - 7;
    // "café" in Latin-1: 0xe9 followed by an ASCII byte is not UTF-8
    writeFileSync(bad, Buffer.concat([good.subarray(0, offset), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20]), good.subarray(offset)]));
    const message = new RegExp(`${bad}: not valid UTF-8 text: the first invalid byte sequence is at byte offset ${offset + 3} \\(bytes e9 20 `);
    await refused(['eval', SOURCE, '--data', bad], message);
    await refused(['train', SOURCE, '--data', bad, '--steps', '2', '--out', path.join(tmp.dir, 'utf8-run')], message);
    assert.equal(existsSync(path.join(tmp.dir, 'utf8-run')), false);
  });
});
