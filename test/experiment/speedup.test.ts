/** Steps-to-target and speed-up; a run that starts below the target claims none. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { speedupOf, stepsToTarget } from '../../electron/engine/experiment/speedup.ts';
import { parseRunSpec, parseRunSpecs } from '../../electron/engine/experiment/methods.ts';
import { parseTarget } from '../../electron/engine/experiment/target.ts';

const curve = (pairs: [number, number][]) => pairs.map(([step, val_loss]) => ({ step, val_loss }));

describe('steps to target and speed-up', () => {
  const scratch = curve([
    [0, 6],
    [10, 4],
    [20, 3.5],
    [30, 3.2],
    [40, 3.0],
  ]);
  test('the first evaluated step at or below the target', () => {
    assert.equal(stepsToTarget(scratch, 3.0), 40);
    assert.equal(stepsToTarget(scratch, 3.5), 20);
    assert.equal(stepsToTarget(scratch, 2.9), null);
    assert.equal(
      stepsToTarget(
        curve([
          [20, 3],
          [0, 5],
          [10, 2.9],
        ]),
        3,
      ),
      10,
      'order of points does not matter',
    );
  });
  test('a measured ratio', () => {
    const s = speedupOf(
      curve([
        [0, 5],
        [10, 3.1],
        [20, 2.95],
      ]),
      3.0,
      40,
      40,
    );
    assert.deepEqual(s, { stepsToTarget: 20, speedup: 2, kind: 'measured', display: '2.00x' });
  });
  test('below the target at step 0: no speed-up claimed (neither a ratio nor a bound)', () => {
    const s = speedupOf(
      curve([
        [0, 2.9],
        [10, 3.2],
        [20, 3.05],
      ]),
      3.0,
      40,
      40,
    );
    assert.equal(s.stepsToTarget, 0);
    assert.equal(s.kind, 'started_below');
    assert.equal(s.speedup, null);
    assert.equal(s.display, 'none measured: below the target before training (2.900 <= 3.000), so this budget says nothing about speed');
    assert.doesNotMatch(s.display, /\d+(\.\d+)?x/);
  });
  test('never reached: no speed-up', () => {
    const s = speedupOf(
      curve([
        [0, 5],
        [40, 3.3],
      ]),
      3.0,
      40,
      40,
    );
    assert.deepEqual(s, { stepsToTarget: null, speedup: null, kind: 'not_reached', display: 'not reached in 40 steps' });
  });
});

describe('experiment arguments', () => {
  test('run specs: methods with after-growth options; scratch always included', () => {
    assert.deepEqual(parseRunSpec('hypercloning+rewarm+moments'), {
      label: 'hypercloning+rewarm+moments',
      method: 'hypercloning',
      after: ['rewarm', 'moments'],
    });
    assert.deepEqual(
      parseRunSpecs('zero-pad,hypercloning').map((s) => s.label),
      ['zero-pad', 'hypercloning', 'scratch'],
    );
    assert.throws(() => parseRunSpec('hyperclone'), /unknown method 'hyperclone'/);
    assert.throws(() => parseRunSpec('zero-pad+sparkle'), /unknown after-growth option 'sparkle'/);
    assert.throws(() => parseRunSpec('scratch+rewarm'), /not to scratch/);
    assert.throws(() => parseRunSpecs('zero-pad,zero-pad'), /listed twice/);
  });
  test('--target', () => {
    assert.deepEqual(parseTarget('hidden=128,layers=4,ffn=512,heads=8,kv-heads=4'), { hidden: 128, layers: 4, ffn: 512, heads: 8, kvHeads: 4 });
    assert.throws(() => parseTarget('hidden=12.5'), /hidden=12.5/);
    assert.throws(() => parseTarget('width=2'), /'width=2' is not KEY=N/);
  });
});
