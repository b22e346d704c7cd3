/** The Training screen's curve arithmetic: smoothing, merging resumed runs, steps saved. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricPoint } from '../../electron/shared/contract.ts';
import { mergePoints, smooth, stepsSaved, xOf } from '../../renderer/src/lib/curves.ts';

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
