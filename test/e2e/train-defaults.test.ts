/** The training form's proposed settings: a grown model keeps the from-scratch rate and is warmed up again (docs/experiments.md). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelEntry } from '../../electron/shared/contract.ts';
import { trainDefaults } from '../../renderer/src/lib/train-defaults.ts';

const model = (kind: ModelEntry['kind'], ctx: number): ModelEntry => ({
  id: 'm',
  kind,
  name: 'm',
  path: '/m',
  referenced: false,
  shape: { family: 'gpt2', hidden: 64, layers: 2, heads: 4, kvHeads: 4, ffn: 256, ctx, vocab: 256 },
  params: 1,
  createdAt: '2026-11-29T00:00:00.000Z',
});

test('a grown model trains at the source and scratch rate, warmed up again over a tenth of the steps; context at most 64', () => {
  const scratch = trainDefaults(model('scratch', 128), 500);
  const grown = trainDefaults(model('grown', 128), 500);
  assert.equal(grown.lr, scratch.lr, 'the same peak rate: a third of it never reached scratch in the papers-cpu run');
  assert.equal(grown.warmup, 50);
  assert.equal(scratch.warmup, 10);
  assert.equal(trainDefaults(model('grown', 32), 40).warmup, 10, 'at least 10 warm-up steps');
  assert.equal(grown.ctx, 64);
  assert.equal(trainDefaults(model('source', 32), 40).ctx, 32);
});
