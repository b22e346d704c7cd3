/** The Training screen's curve arithmetic (smoothing, merging resumed runs, steps saved, best points, the y range) and its tables. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricPoint, TrainingEntry } from '../../electron/shared/contract.ts';
import { bestPoint, mergePoints, robustYRange, smooth, stepsSaved, throughput, xOf } from '../../renderer/src/lib/curves.ts';
import { compareRows, metricsCsvRows } from '../../renderer/src/lib/run-tables.ts';
import { inAppWords } from '../../renderer/src/bridge/api-error.ts';

const pt = (step: number, loss: number): MetricPoint => ({ step, train_loss: loss, lr: 1e-3, tokens: step * 100, time: step / 10 });

test('smooth: weight 0 is the identity, a constant stays constant, and the first value is not pulled to 0', () => {
  assert.deepEqual(smooth([3, 1, 2], 0), [3, 1, 2]);
  for (const v of smooth([5, 5, 5, 5], 0.9)) assert.ok(Math.abs(v - 5) < 1e-12);
  const s = smooth([4, 2], 0.5);
  assert.equal(s[0], 4);
  // debiased EMA: (0.5*0.5*4 + 0.5*2) / (0.5*0.5 + 0.5) = 2.666...
  assert.ok(Math.abs((s[1] as number) - 8 / 3) < 1e-12);
});

test('mergePoints: a resumed run overwrites by step and stays ordered', () => {
  const m = mergePoints([pt(1, 3), pt(2, 2.9), pt(3, 2.8)], [pt(3, 2.7), pt(4, 2.6)]);
  assert.deepEqual(
    m.map((p) => [p.step, p.train_loss]),
    [
      [1, 3],
      [2, 2.9],
      [3, 2.7],
      [4, 2.6],
    ],
  );
});

test('xOf picks step, tokens or time', () => {
  const p = pt(7, 1);
  assert.deepEqual([xOf(p, 'step'), xOf(p, 'tokens'), xOf(p, 'time')], [7, 700, 0.7]);
});

test('stepsSaved: the grown run reaches the scratch final loss earlier', () => {
  const scratch = Array.from({ length: 100 }, (_, i) => pt(i + 1, 5 - (i + 1) * 0.02)); // ends at 3.0
  const grown = Array.from({ length: 100 }, (_, i) => pt(i + 1, 4 - (i + 1) * 0.02)); // 3.0 at step 50
  const r = stepsSaved(grown, scratch, 0);
  assert.ok(r);
  assert.equal(r.scratchSteps, 100);
  assert.equal(r.grownSteps, 50);
  assert.equal(r.saved, 50);
  assert.equal(r.fraction, 0.5);
});

test('stepsSaved: undefined when the grown run never gets there or a run is empty', () => {
  const scratch = [pt(1, 3), pt(2, 2)];
  assert.equal(stepsSaved([pt(1, 4), pt(2, 3)], scratch, 0), undefined);
  assert.equal(stepsSaved([], scratch), undefined);
  assert.equal(stepsSaved(scratch, []), undefined);
});

test('mergePoints keeps the training loss when a validation point for the same step arrives', () => {
  const val = { step: 2, val_loss: 2.5, tokens: 200, time: 0.2 } as MetricPoint;
  const m = mergePoints([pt(1, 3), pt(2, 2.9)], [val]);
  assert.equal(m[1]?.train_loss, 2.9);
  assert.equal(m[1]?.val_loss, 2.5);
});

test('robustYRange: a diverged run is left off the linear axis, ordinary curves (a rising one, a scratch start) are not', () => {
  const normal = Array.from({ length: 40 }, (_, i) => 6 - i * 0.08); // 6 -> 2.9
  const rising = Array.from({ length: 20 }, (_, i) => 2.6 + i * 0.02); // val loss getting worse
  assert.deepEqual(robustYRange([...normal, ...rising]), { clipped: 0 });
  assert.deepEqual(robustYRange([...normal, 10.8, 9.5]), { clipped: 0 }, 'a from-scratch start at ln(50257)');
  const diverged = [2.9, 25586, 47194, 62035, 1.3e7];
  const r = robustYRange([...normal, ...rising, ...diverged]);
  assert.equal(r.clipped, 4);
  assert.ok(r.max! > 6 && r.max! < 7, `top of the axis ${r.max}`);
});

test('bestPoint and throughput: the lowest validation loss with its step, tokens per second from the last point', () => {
  const pts: MetricPoint[] = [
    { step: 0, val_loss: 3, tokens: 0, time: 0 } as MetricPoint,
    { ...pt(5, 2.8), val_loss: 2.5 },
    { ...pt(10, 2.6), val_loss: 2.55 },
  ];
  assert.equal(bestPoint(pts, 'val_loss')?.step, 5);
  assert.equal(bestPoint(pts, 'train_loss')?.step, 10);
  assert.equal(bestPoint([pt(1, 3)], 'val_loss'), undefined);
  assert.deepEqual(throughput(pts), { tokensPerSecond: 1000, seconds: 1 });
  assert.deepEqual(throughput([]), {});
});

test('metricsCsvRows and compareRows: every point of every run; differing settings flagged', () => {
  const rows = metricsCsvRows([{ session: 'a', points: [{ step: 0, val_loss: 3, tokens: 0, time: 0, lr: 0 }, { ...pt(1, 2.9) }] }]);
  assert.deepEqual(rows[0], ['session', 'step', 'train_loss', 'val_loss', 'lr', 'tokens', 'seconds']);
  assert.deepEqual(rows[1], ['a', 0, '', 3, '', 0, 0]);
  assert.deepEqual(rows[2], ['a', 1, 2.9, '', 1e-3, 100, 0.1]);
  const settings = {
    steps: 10,
    batch: 2,
    ctx: 32,
    lr: 1e-4,
    minLr: 0,
    warmup: 1,
    schedule: 'cosine',
    weightDecay: 0.1,
    clip: 1,
    gradAccum: 1,
    seed: 0,
    evalEvery: 5,
    checkpointEvery: 5,
  } as const;
  const t = (id: string, lr: number): TrainingEntry => ({
    id,
    name: id,
    modelId: 'm',
    datasetId: 'd',
    settings: { ...settings, lr },
    status: 'done',
    runDir: '/x',
    lastStep: 10,
    createdAt: '',
  });
  const cmp = compareRows([t('a', 1e-4), t('b', 3e-4)], (id) => `name-${id}`);
  assert.deepEqual(
    cmp.find((r) => r.label === 'learning rate'),
    { label: 'learning rate', values: ['0.0001', '0.0003'], differs: true },
  );
  assert.equal(cmp.find((r) => r.label === 'batch')?.differs, false);
  assert.deepEqual(cmp.find((r) => r.label === 'model')?.values, ['name-m', 'name-m']);
  assert.equal(cmp.find((r) => r.label === 'tokens per step')?.values[0], '64');
});

test('engine messages in the app’s words: CLI flags become the form’s field names', () => {
  assert.equal(
    inAppWords('GPT-2 has no grouped KV heads: --kv-heads must equal the heads (4)'),
    'GPT-2 has no grouped KV heads: “KV heads” must equal the heads (4)',
  );
  assert.equal(inAppWords("--ctx 200 is longer than the model's context (128)"), "“Context” 200 is longer than the model's context (128)");
  assert.equal(inAppWords('use a larger --hidden (adds heads)'), 'use a larger “Hidden” (adds heads)');
  assert.equal(inAppWords('unknown --frobnicate stays'), 'unknown --frobnicate stays');
  assert.equal(inAppWords('a-b--c is not a flag'), 'a-b--c is not a flag');
});
