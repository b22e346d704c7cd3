/** The growth primitives on small hand-checked matrices, and determinism from the seed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { padMap, tileMap } from '../../electron/engine/growth/axis.ts';
import { makePlan } from '../../electron/engine/growth/index.ts';
import { addPairedNoise, mapMatrix, mapVector } from '../../electron/engine/growth/primitives.ts';
import { rngFor } from '../../electron/engine/rng.ts';
import { growInMemory, fixture } from './helpers.ts';

const W = Float32Array.from([1, 2, 3, 4, 5, 6]); // [2, 3], rows = input axis

/** tile(W, a, b) for W [rows, cols] with rows the input axis: a x b copies, divided by a (HyperCloning's matrix rule). */
const tileMatrix = (w: Float32Array, rows: number, cols: number, a: number, b: number) =>
  mapMatrix(w, { rows: tileMap(rows, a, 'internal'), cols: tileMap(cols, b, 'internal'), inAxis: 'rows' });
/** rep(v, k): the vector k times. */
const repeatVector = (v: Float32Array, k: number) => mapVector(v, tileMap(v.length, k, 'internal'));
/** W [rows, cols] in the top-left corner of [R, C], the rest zeros. */
const padMatrix = (w: Float32Array, rows: number, cols: number, R: number, C: number) =>
  mapMatrix(w, { rows: padMap(rows, R, 'internal'), cols: padMap(cols, C, 'internal'), inAxis: 'rows' });

test('tileMatrix repeats a x b times and divides by a', () => {
  assert.deepEqual([...tileMatrix(W, 2, 3, 2, 1)], [0.5, 1, 1.5, 2, 2.5, 3, 0.5, 1, 1.5, 2, 2.5, 3]);
  assert.deepEqual([...tileMatrix(W, 2, 3, 1, 2)], [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
});

test('repeatVector and padMatrix', () => {
  assert.deepEqual([...repeatVector(Float32Array.from([1, 2]), 3)], [1, 2, 1, 2, 1, 2]);
  assert.deepEqual([...padMatrix(W, 2, 3, 3, 4)], [1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0]);
});

test("paired noise cancels for cloned inputs: x·W' equals (x, x)·tile(W)", () => {
  const maps = { rows: tileMap(2, 2, 'hidden'), cols: tileMap(3, 1, 'internal'), inAxis: 'rows' as const };
  const grown = mapMatrix(W, maps);
  const noisy = addPairedNoise(Float32Array.from(grown), maps, 0.5, rngFor(1, 'x'));
  assert.notDeepEqual([...noisy], [...grown]);
  const x = [0.3, -1.2, 0.3, -1.2]; // a cloned input
  for (let o = 0; o < 3; o++) {
    const y = x.reduce((acc, xi, i) => acc + xi * noisy[i * 3 + o]!, 0);
    const ySource = 0.3 * W[o]! - 1.2 * W[3 + o]!;
    assert.ok(Math.abs(y - ySource) < 1e-6, `column ${o}: ${y} vs ${ySource}`);
  }
});

test('new entries follow the fill rule: zero where the function needs it', () => {
  const maps = { rows: padMap(2, 3, 'internal'), cols: padMap(3, 4, 'hidden'), inAxis: 'rows' as const };
  const g = mapMatrix(W, maps, { inNew: 0, outNew: 0.1, both: 0 }, rngFor(0, 'y'));
  assert.equal(g[2 * 4 + 0], 0); // new input row
  assert.notEqual(g[0 * 4 + 3], 0); // new output column, old input
});

test('growth is deterministic from the seed, and the seed matters for random mappings', async () => {
  const a = await growInMemory(fixture('llama-shakespeare-h64-l2'), { method: 'net2net', hidden: 96, seed: 11 });
  const b = await growInMemory(fixture('llama-shakespeare-h64-l2'), { method: 'net2net', hidden: 96, seed: 11 });
  const c = await growInMemory(fixture('llama-shakespeare-h64-l2'), { method: 'net2net', hidden: 96, seed: 12 });
  const name = 'model.layers.0.mlp.up_proj.weight';
  assert.deepEqual(a.grown.get(name), b.grown.get(name));
  assert.notDeepEqual(a.grown.get(name), c.grown.get(name));
});

test('depth plans: identity insert positions, stack and interpolate orders', () => {
  const cfg = {
    family: 'gpt2',
    vocabSize: 16,
    nPositions: 8,
    nEmbd: 8,
    nLayer: 3,
    nHead: 2,
    nInner: 32,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
  } as const;
  const order = (o: Parameters<typeof makePlan>[1]) =>
    makePlan(cfg, o)
      .layers.map((l) => `${l.src}${l.identity ? 'i' : ''}`)
      .join(' ');
  assert.equal(order({ method: 'identity', layers: 5, insertAt: [0, 2] }), '0i 0 1 1i 2');
  assert.equal(order({ method: 'identity', layers: 4 }), '0 1 2 2i');
  assert.equal(order({ method: 'stack', layers: 6 }), '0 1 2 0 1 2');
  assert.equal(order({ method: 'interpolate', layers: 7 }), '0 0 0 1 1 2 2');
});
