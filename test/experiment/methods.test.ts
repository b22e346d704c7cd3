/** Run specs: after-growth options are parsed, and the combinations that make no sense are refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRunSpec, parseRunSpecs } from '../../electron/engine/experiment/methods.ts';

test('after-growth options', () => {
  assert.deepEqual(parseRunSpec('hypercloning+rewarm+lowlr'), { label: 'hypercloning+rewarm+lowlr', method: 'hypercloning', after: ['rewarm', 'lowlr'] });
  assert.deepEqual(parseRunSpec('msg+ramp'), { label: 'msg+ramp', method: 'msg', after: ['ramp'] });
  assert.throws(() => parseRunSpec('msg'), /msg growth needs its mask ramp: write msg\+ramp/);
  assert.throws(() => parseRunSpec('hypercloning+ramp'), /\+ramp ramps in the masked parts of msg growth/);
  assert.throws(() => parseRunSpec('scratch+lowlr'), /apply to grown models, not to scratch/);
  assert.throws(() => parseRunSpec('hypercloning+fast'), /unknown after-growth option 'fast'/);
  assert.deepEqual(
    parseRunSpecs('zero-pad,hypercloning+lowlr').map((s) => s.label),
    ['zero-pad', 'hypercloning+lowlr', 'scratch'],
  );
});
