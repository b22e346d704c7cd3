/**
 * A run's model-files/ (its copy of the model's tokenizer): a resume that finds the recorded
 * tokenizer gone or changed is refused, naming the file; a run of an older version (no
 * model-files/) adopts the tokenizer of the model it started from, or of its checkpoint when
 * that model is gone, and is refused when neither has one, instead of reading bytes.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../../electron/engine/backend.ts';
import { type RunConfig, resumeRun, trainRun } from '../../electron/engine/train/run.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { metrics } from '../helpers/train-cli.ts';

const SOURCE = path.join(ROOT, 'resources', 'models', 'gpt2-shakespeare-d64-l2');

/** A copy of a finished run as an older Scion left it: no model-files/, stopped at step 20. */
function olderRun(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  for (const p of ['final', 'result.json', 'model-files', 'checkpoints/step-00000030']) rmSync(path.join(to, p), { recursive: true, force: true });
  const run = JSON.parse(readFileSync(path.join(to, 'run.json'), 'utf8')) as RunConfig;
  delete run.modelFiles;
  writeFileSync(path.join(to, 'run.json'), JSON.stringify(run));
  return to;
}

/** Removes a file from a checkpoint and from its manifest (as if it had never been written). */
function dropFromCheckpoint(ckpt: string, rel: string): void {
  rmSync(path.join(ckpt, rel));
  const manifest = JSON.parse(readFileSync(path.join(ckpt, 'manifest.json'), 'utf8')) as { files: Record<string, unknown> };
  delete manifest.files[rel];
  writeFileSync(path.join(ckpt, 'manifest.json'), JSON.stringify(manifest));
}

describe("a run's model-files", () => {
  const tmp = tempDir();
  let model: string;
  let reference: string;
  let losses: (number | undefined)[];
  before(async () => {
    await initBackend('wasm');
    model = path.join(tmp.dir, 'model');
    cpSync(SOURCE, model, { recursive: true });
    const data = path.join(tmp.dir, 'data.txt');
    writeFileSync(data, readFileSync(path.join(ROOT, 'resources', 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 40_000));
    reference = path.join(tmp.dir, 'reference');
    await trainRun({ model, data, steps: 30, batch: 2, ctx: 32, checkpointEvery: 10, keepCheckpoints: 3, out: reference });
    losses = metrics(reference).map((m) => m.train_loss);
  });
  after(() => tmp.cleanup());

  test('a run records its tokenizer and keeps a copy of it', () => {
    const run = JSON.parse(readFileSync(path.join(reference, 'run.json'), 'utf8')) as RunConfig;
    assert.deepEqual(run.modelFiles?.files, ['tokenizer.json', 'generation_config.json']);
    assert.equal(run.modelFiles?.tokenizer.kind, 'tokenizer.json');
    assert.deepEqual(readFileSync(path.join(reference, 'model-files', 'tokenizer.json')), readFileSync(path.join(SOURCE, 'tokenizer.json')));
  });

  test('a missing or changed tokenizer in model-files/ is refused on resume', async () => {
    const missing = path.join(tmp.dir, 'missing');
    cpSync(reference, missing, { recursive: true });
    rmSync(path.join(missing, 'model-files', 'tokenizer.json'));
    await assert.rejects(resumeRun(missing), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_TOKENIZER_MISSING');
      assert.match(e.message, new RegExp(`${missing}/model-files/tokenizer\\.json is missing: the run tokenizes its data with the tokenizer of ${model}`));
      return true;
    });
    const changed = path.join(tmp.dir, 'changed');
    cpSync(reference, changed, { recursive: true });
    const tok = path.join(changed, 'model-files', 'tokenizer.json');
    writeFileSync(tok, JSON.stringify(JSON.parse(readFileSync(tok, 'utf8')), null, 1));
    await assert.rejects(resumeRun(changed), /is not the one the run started with/);
  });

  test('a run of an older version adopts the tokenizer of its model, and trains on identically', async () => {
    const old = olderRun(reference, path.join(tmp.dir, 'old'));
    const r = await resumeRun(old);
    assert.equal(r.status, 'completed');
    assert.deepEqual(
      metrics(old).map((m) => m.train_loss),
      losses,
    );
    const run = JSON.parse(readFileSync(path.join(old, 'run.json'), 'utf8')) as RunConfig;
    assert.equal(run.modelFiles?.from, model);
    assert.ok(existsSync(path.join(old, 'final', 'tokenizer.json')));
  });

  test('...or of its checkpoint when the model is gone; with neither, it is refused', async () => {
    const fromCheckpoint = olderRun(reference, path.join(tmp.dir, 'old-ckpt'));
    const lost = olderRun(reference, path.join(tmp.dir, 'old-lost'));
    for (const step of ['00000010', '00000020']) dropFromCheckpoint(path.join(lost, 'checkpoints', `step-${step}`), 'model/tokenizer.json');
    const lostMetrics = readFileSync(path.join(lost, 'metrics.jsonl'));
    renameSync(model, `${model}-gone`);
    try {
      assert.equal((await resumeRun(fromCheckpoint)).status, 'completed');
      assert.deepEqual(
        metrics(fromCheckpoint).map((m) => m.train_loss),
        losses,
      );
      await assert.rejects(resumeRun(lost), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'E_TOKENIZER_MISSING');
        assert.match(
          e.message,
          /cannot tell which tokenizer this run's data was tokenized with: the model it started from .* is gone and its checkpoint lost its tokenizer\.json [0-9a-f]{12}/,
        );
        return true;
      });
      assert.deepEqual(readFileSync(path.join(lost, 'metrics.jsonl')), lostMetrics, 'the refused resume changed nothing');
      assert.equal(existsSync(path.join(lost, 'model-files')), false);
    } finally {
      renameSync(`${model}-gone`, model);
    }
  });
});
