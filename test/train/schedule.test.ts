/** Learning-rate schedules: warm-up, cosine, linear, constant, against values worked out by hand. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { learningRate } from '../../electron/engine/train/schedule.ts';

const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} != ${b}`);

describe('learning-rate schedules', () => {
  const base = { lr: 1, minLr: 0.1, warmup: 4, steps: 14 };
  test('linear warm-up from lr/W to lr over W steps', () => {
    for (const schedule of ['cosine', 'linear', 'constant'] as const) {
      assert.deepEqual(
        [0, 1, 2, 3].map((s) => learningRate(s, { ...base, schedule })),
        [0.25, 0.5, 0.75, 1],
      );
    }
  });
  test('cosine: peak after warm-up, halfway at the middle, minimum at the end and after', () => {
    const o = { ...base, schedule: 'cosine' as const };
    close(learningRate(4, o), 1);
    close(learningRate(9, o), 0.55); // (1 + 0.1) / 2
    close(learningRate(14, o), 0.1);
    close(learningRate(100, o), 0.1);
    close(learningRate(6, o), 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 0.2)));
  });
  test('linear decay and constant', () => {
    const lin = { ...base, schedule: 'linear' as const };
    close(learningRate(4, lin), 1);
    close(learningRate(9, lin), 0.55);
    close(learningRate(11.5, lin), 0.325);
    close(learningRate(14, lin), 0.1);
    const c = { ...base, schedule: 'constant' as const };
    for (const s of [4, 9, 14, 50]) close(learningRate(s, c), 1);
  });
  test('no warm-up starts at the peak', () => {
    close(learningRate(0, { ...base, warmup: 0, schedule: 'cosine' }), 1);
  });
});
