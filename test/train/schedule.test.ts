/**
 * Learning-rate schedules: warm-up, a constant phase (`hold`), cosine, linear, constant, against
 * values worked out by hand; and the hand-off's train.py computes the same rates (python3 runs
 * its learning_rate function as written in the template).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { learningRate, type ScheduleOptions } from '../../electron/engine/train/schedule.ts';
import { ROOT } from '../helpers/fixtures.ts';

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
  test('a constant phase: the peak for `hold` steps after the warm-up, then the decay over the remaining steps to the same minimum', () => {
    const o = { ...base, hold: 3, schedule: 'cosine' as const }; // warm-up 0-3, hold 4-6, cosine over 7..14
    for (const s of [4, 5, 6, 7]) close(learningRate(s, o), 1, `step ${s}`);
    close(learningRate(10.5, o), 0.55);
    close(learningRate(8, o), 0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI / 7)));
    close(learningRate(14, o), 0.1);
    const lin = { ...o, schedule: 'linear' as const };
    close(learningRate(10.5, lin), 0.55);
    close(learningRate(14, lin), 0.1);
    // no warm-up: the hold starts at step 0
    const cold = { ...o, warmup: 0 };
    for (const s of [0, 1, 2, 3]) close(learningRate(s, cold), 1, `step ${s}`);
    close(learningRate(3 + 5.5, cold), 0.55);
    // hold 0 is the schedule without one, step for step
    for (let s = 0; s <= 15; s++) assert.equal(learningRate(s, { ...base, hold: 0, schedule: 'cosine' }), learningRate(s, { ...base, schedule: 'cosine' }));
  });
  test(
    "the hand-off's train.py gives the same rates (warm-up, hold, decay)",
    { skip: spawnSync('python3', ['--version']).status !== 0 && 'no python3' },
    () => {
      const src = readFileSync(path.join(ROOT, 'resources', 'handoff', 'train.py'), 'utf8');
      const fn = /\ndef learning_rate\(step, o, warmup\):\n(?: {4}.*\n|\n)+/.exec(src)?.[0];
      assert.ok(fn, 'learning_rate found in train.py');
      const cases: ScheduleOptions[] = [];
      for (const schedule of ['cosine', 'linear', 'constant'] as const)
        for (const [warmup, hold] of [
          [0, 0],
          [4, 0],
          [4, 3],
          [0, 5],
        ] as const)
          cases.push({ lr: 3e-3, minLr: 2e-4, warmup, hold, steps: 20, schedule });
      const py = `import json, math, sys\n${fn}\ncases = json.load(sys.stdin)\nprint(json.dumps([[learning_rate(s, c, c["warmup"]) for s in range(22)] for c in cases]))\n`;
      const r = spawnSync('python3', ['-c', py], { input: JSON.stringify(cases), encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout) as number[][];
      cases.forEach((c, i) => got[i]!.forEach((x, s) => close(x, learningRate(s, c), `${JSON.stringify(c)} step ${s}`)));
    },
  );
});
