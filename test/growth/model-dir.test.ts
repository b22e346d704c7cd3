/**
 * `scion grow`'s folder work (growth/model-dir.ts) reads the source once: growth reads each
 * source tensor (a stacked block included) once from disk, and the check's source model is
 * made of those same arrays, not read and scanned again; nothing is left on the backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { growModelDir } from '../../electron/engine/growth/index.ts';
import { SafetensorsFile } from '../../electron/engine/io/safetensors.ts';
import { disposeParams, loadModel } from '../../electron/engine/models/model.ts';
import { checkFunctionPreservation, randomWindows } from '../../electron/engine/growth/check.ts';
import { TOKENIZER_METADATA_KEY, loadTokenizer } from '../../electron/engine/tokenizer/tokenizer.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { runScion } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { useWasm } from './helpers.ts';

const SOURCE = fixtureDir('gpt2-shakespeare-d64-l2');
const tmp = tempDir('scion-grow-dir-');
before(useWasm);
after(() => tmp.cleanup());

test('grow + check read every source tensor from disk once (stacked blocks too) and leak no tensor', async (t) => {
  const reads = new Map<string, number>();
  const sourceFile = path.join(SOURCE, 'model.safetensors');
  const original = SafetensorsFile.prototype.readFloat32;
  t.mock.method(SafetensorsFile.prototype, 'readFloat32', function (this: SafetensorsFile, name: string) {
    if (this.file === sourceFile) reads.set(name, (reads.get(name) ?? 0) + 1);
    return original.call(this, name);
  });
  const before = tf.memory().numTensors;
  const out = path.join(tmp.dir, 'x2-l4');
  const report = await growModelDir(SOURCE, out, { method: 'hypercloning', widthMult: 2, layers: 4, depth: 'stack', checkWindows: 2, checkLength: 32 });
  assert.equal(tf.memory().numTensors, before, 'tensor leak');
  assert.ok(reads.size > 0, 'the source was read through SafetensorsFile');
  for (const [name, n] of reads) assert.equal(n, 1, `${name} read ${n} times`);
  t.mock.restoreAll();
  // the check's source model is the source: its loss is the one a fresh load of the folder gives
  const windows = randomWindows(report.sourceConfig.vocabSize, 2, 32, report.seed);
  const a = await loadModel(SOURCE);
  const b = await loadModel(out);
  try {
    const fresh = await checkFunctionPreservation(a, b, windows, 'exact');
    assert.equal(report.check!.lossSource, fresh.lossSource);
    assert.equal(report.check!.lossGrown, fresh.lossGrown);
  } finally {
    disposeParams(a.params);
    disposeParams(b.params);
  }
});

test('a model with its tokenizer, grown then exported with the real CLI: the tokenizer and the weights travel unchanged', async () => {
  const grown = path.join(tmp.dir, 'grown-tok');
  const exported = path.join(tmp.dir, 'exported-tok');
  const g = runScion(['grow', SOURCE, '--out', grown, '--method', 'hypercloning', '--hidden', '128', '--check-windows', '1', '--json']);
  assert.equal(g.code, 0, g.stderr);
  const e = runScion(['export', grown, '--out', exported, '--json']);
  assert.equal(e.code, 0, e.stderr);
  const source = await loadTokenizer(SOURCE);
  for (const dir of [grown, exported]) {
    assert.deepEqual(
      readFileSync(path.join(dir, 'tokenizer.json')),
      readFileSync(path.join(SOURCE, 'tokenizer.json')),
      `${dir}: tokenizer.json is the source's`,
    );
    const f = await SafetensorsFile.open(path.join(dir, 'model.safetensors'));
    try {
      assert.match(f.metadata[TOKENIZER_METADATA_KEY] ?? '', /^tokenizer\.json /, `${dir}: the weights name their tokenizer`);
    } finally {
      await f.close();
    }
    assert.equal((await loadTokenizer(dir)).fingerprint, source.fingerprint);
  }
  assert.deepEqual(
    readFileSync(path.join(exported, 'model.safetensors')),
    readFileSync(path.join(grown, 'model.safetensors')),
    'float32 weights exported byte for byte',
  );
});

test('a grow that fails while its shards are being written (a NaN in the last source tensor read) leaves the old output and nothing else', async () => {
  // the source with a NaN in transformer.ln_f.bias, which growth reads for the last target tensor
  const bad = path.join(tmp.dir, 'nan-source');
  mkdirSync(bad);
  for (const f of readdirSync(SOURCE)) copyFileSync(path.join(SOURCE, f), path.join(bad, f));
  const st = await SafetensorsFile.open(path.join(bad, 'model.safetensors'));
  const { begin } = st.info('transformer.ln_f.bias');
  await st.close();
  const file = path.join(bad, 'model.safetensors');
  const bytes = readFileSync(file);
  const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
  bytes.writeFloatLE(NaN, dataStart + begin + 4 * 3);
  writeFileSync(file, bytes);
  // an earlier Scion output in the way, replaced with --force
  const parent = path.join(tmp.dir, 'nan-parent');
  mkdirSync(parent);
  const out = path.join(parent, 'grown');
  await growModelDir(SOURCE, out, { method: 'mlp-zero', ffnMult: 2, check: false });
  const before = Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(path.join(out, f))]));
  await assert.rejects(
    growModelDir(bad, out, { method: 'hypercloning', widthMult: 2, layers: 4, depth: 'stack', check: false, force: true, maxShardBytes: 20000 }),
    (e: Error) => /model\.safetensors: tensor 'transformer\.ln_f\.bias' has 1 NaN or infinite value/.test(e.message),
  );
  assert.deepEqual(readdirSync(parent), ['grown'], 'no temporary folder or shard is left beside the output');
  assert.deepEqual(Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(path.join(out, f))])), before, 'the old output is intact');
});
