/**
 * The sequential sampler (`--sampler sequential`): batch j reads windows j*B ... j*B+B-1 at
 * stride ctx, so every token is a target once and no window is read twice; a run that would
 * run out of data is refused before it trains, naming the data and the tokens it needs.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { sequentialStarts, sequentialTokensNeeded } from '../../electron/engine/train/batches.ts';
import { trainRun } from '../../electron/engine/train/run.ts';
import { readMetrics } from '../../electron/engine/train/metrics.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText, makeTinyModel } from './tiny.ts';

describe('sequential sampler', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  test('batches tile the data in order, each token a target once', () => {
    const ctx = 4;
    const batch = 3;
    const seen: number[] = [];
    for (let j = 0; j < 5; j++) {
      const starts = sequentialStarts(j, 1000, ctx, batch);
      assert.deepEqual(
        starts,
        [0, 1, 2].map((w) => (j * batch + w) * ctx),
      );
      for (const s of starts) for (let t = 1; t <= ctx; t++) seen.push(s + t); // target positions
    }
    assert.equal(new Set(seen).size, seen.length, 'no target position twice');
    assert.deepEqual(
      seen,
      Array.from({ length: 5 * batch * ctx }, (_, i) => i + 1),
      'targets are tokens 1 .. N in order',
    );
    assert.equal(sequentialTokensNeeded(5, ctx, batch), 5 * batch * ctx + 1);
  });

  test('the batch that would wrap around is refused, not repeated', () => {
    // 2 batches of 3 windows of 4: 25 tokens; 24 are one short
    assert.deepEqual(sequentialStarts(1, 25, 4, 3), [12, 16, 20]);
    assert.throws(() => sequentialStarts(1, 24, 4, 3), /needs 25 tokens .* has 24: the run would repeat data/);
  });

  test('a run is refused before training when its steps need more tokens than the data has', async () => {
    const model = await makeTinyModel(tmp.dir);
    const data = makeText(tmp.dir, 2000); // 2000 byte tokens
    const out = path.join(tmp.dir, 'too-long');
    await assert.rejects(
      trainRun({ model, init: 'scratch', data, out, steps: 40, batch: 4, ctx: 16, sampler: 'sequential' }),
      (e: Error & { code?: string }) =>
        e.code === 'E_DATASET' && /text.txt: 20\d\d tokens, but 40 steps .* need 2561: the run would repeat data/.test(e.message),
    );
    assert.ok(!existsSync(path.join(out, 'final')), 'nothing trained');
  });

  test('two sequential runs with different seeds read the same data; a random run reads other data', async () => {
    const model = await makeTinyModel(tmp.dir, undefined, 'm2');
    const data = makeText(tmp.dir, 4000, 'seq.txt');
    const run = async (name: string, seed: number, sampler: 'random' | 'sequential') => {
      const out = path.join(tmp.dir, name);
      // pretrained init from the same weights: only the data order can differ between runs
      await trainRun({ model, data, out, steps: 3, batch: 2, ctx: 16, lr: 1e-3, seed, sampler });
      return (await readMetrics(path.join(out, 'metrics.jsonl'))).filter((m) => m.train_loss !== undefined).map((m) => m.train_loss!);
    };
    const a = await run('seq-a', 0, 'sequential');
    const b = await run('seq-b', 5, 'sequential');
    const c = await run('rnd', 0, 'random');
    assert.deepEqual(a, b, 'same tokens in the same order whatever the seed');
    assert.notDeepEqual(a, c, 'the random sampler draws other windows');
  });
});
