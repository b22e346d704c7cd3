/**
 * mapMatrix copies row slices by column runs: it must give, bit for bit, what the definition
 * entry by entry gives (a copy times the fan-in scale, or a draw in row-major order for a new
 * entry), for every kind of map (pad, tile, Net2Net, fused q|k|v, AKI's next matrix), also
 * when it fills a reused array.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as path from 'node:path';
import { type AxisMap, concatMaps, padMap, tileMap, unitMap } from '../../electron/engine/growth/axis.ts';
import { growArrays, growModelDir } from '../../electron/engine/growth/index.ts';
import { openModelWeights, readModelConfig, readWeightArrays } from '../../electron/engine/models/model.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { type MatrixMaps, type NewEntryStd, mapMatrix } from '../../electron/engine/growth/primitives.ts';
import { Rng, rngFor } from '../../electron/engine/rng.ts';

/** The definition, one entry at a time. */
function byEntry(w: Float32Array, maps: MatrixMaps, fill: NewEntryStd, rng: Rng | undefined, next?: Float32Array): Float32Array {
  const { rows, cols, inAxis } = maps;
  const out = new Float32Array(rows.size * cols.size);
  const outMap = inAxis === 'rows' ? cols : rows;
  for (let r = 0; r < rows.size; r++)
    for (let c = 0; c < cols.size; c++) {
      const sr = rows.src[r]!;
      const sc = cols.src[c]!;
      if (sr >= 0 && sc >= 0) {
        const scale = inAxis === 'rows' ? rows.scale[r]! : cols.scale[c]!;
        const from = next !== undefined && outMap.added[inAxis === 'rows' ? c : r] === 1 ? next : w;
        out[r * cols.size + c] = from[sr * cols.sourceSize + sc]! * scale;
      } else {
        const inNew = inAxis === 'rows' ? sr < 0 : sc < 0;
        const outNew = inAxis === 'rows' ? sc < 0 : sr < 0;
        const std = inNew && outNew ? fill.both : inNew ? fill.inNew : fill.outNew;
        out[r * cols.size + c] = std > 0 && rng ? std * rng.pairedNormal() : 0;
      }
    }
  return out;
}

const random = (n: number, seed: number): Float32Array => {
  const g = new Rng(seed);
  return Float32Array.from({ length: n }, () => g.normal());
};

const maps = (d: number): Record<string, AxisMap> => ({
  pad: padMap(d, d + 3, 'hidden'),
  tile: tileMap(d, 2, 'internal'),
  net2net: unitMap(d, Int32Array.from([0, 1, 2, 3, 4, 2, 0, -1].slice(0, d + 2)), 'internal'),
  qkv: concatMaps([padMap(d, d + 2, 'internal'), padMap(d, d + 2, 'internal'), tileMap(d, 1, 'internal')]),
});

test('mapMatrix by column runs equals the entry-by-entry definition, bit for bit, draws included', () => {
  const fills: NewEntryStd[] = [
    { inNew: 0, outNew: 0, both: 0 },
    { inNew: 0.02, outNew: 0, both: 0.01 },
    { inNew: 0, outNew: 0.03, both: 0 },
  ];
  let cases = 0;
  for (const [rn, rows] of Object.entries(maps(5)))
    for (const [cn, cols] of Object.entries(maps(6)))
      for (const inAxis of ['rows', 'cols'] as const)
        for (const [fi, fill] of fills.entries())
          for (const withNext of [false, true]) {
            const m: MatrixMaps = { rows, cols, inAxis };
            const w = random(rows.sourceSize * cols.sourceSize, 1);
            const next = withNext ? random(w.length, 2) : undefined;
            const got = mapMatrix(w, m, fill, rngFor(7, 'x'), next);
            const want = byEntry(w, m, fill, rngFor(7, 'x'), next);
            assert.deepEqual(
              new Uint32Array(got.buffer),
              new Uint32Array(want.buffer),
              `rows ${rn}, cols ${cn}, input ${inAxis}, fill ${fi}, next ${withNext}`,
            );
            // into a reused array holding garbage: every entry is written
            const reused = new Float32Array(got.length).fill(NaN);
            assert.equal(mapMatrix(w, m, fill, rngFor(7, 'x'), next, reused), reused);
            assert.deepEqual(new Uint32Array(reused.buffer), new Uint32Array(want.buffer), `into a reused array: rows ${rn}, cols ${cn}`);
            cases++;
          }
  assert.equal(cases, 4 * 4 * 2 * 3 * 2);
});

test('a model grown to a folder (pooled arrays, writes overlapping the next tensor) equals growth in memory, bit for bit', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const source = fixtureDir('gpt2-shakespeare-d64-l2');
  const opts = { method: 'zero-pad', hidden: 96, ffn: 320, layers: 4, depth: 'stack' as const, seed: 5 };
  const out = path.join(dir, 'grown');
  await growModelDir(source, out, { ...opts, check: false, maxShardBytes: 200_000 });
  const { config } = await readModelConfig(source);
  const arrays = new Map<string, Float32Array>();
  await readWeightArrays(source, config, (name, _shape, data) => void arrays.set(name, data));
  const grown = await openModelWeights(out, (await readModelConfig(out)).config);
  try {
    let n = 0;
    for await (const g of growArrays(config, (name) => arrays.get(name)!, opts)) {
      const onDisk = await grown.get(g.name);
      assert.deepEqual(new Uint32Array(onDisk.buffer, onDisk.byteOffset, onDisk.length), new Uint32Array(g.data.buffer), g.name);
      n++;
    }
    assert.ok(n > 20);
  } finally {
    await grown.close();
  }
});
