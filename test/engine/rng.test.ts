/**
 * The engine's one PRNG draws exactly what the two generators it replaced drew (training's
 * mulberry32 class and growth's per-tensor streams), so a seed still reproduces the same
 * initialisation, data order and grown model. The expected values were recorded from the old
 * generators (train/rng.ts and growth/random.ts at 3f808b4) before they were merged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng, rngFor, subSeed } from '../../electron/engine/rng.ts';

/** FNV-1a over the float64 bytes of a sequence. */
function digest(xs: number[]): string {
  const bytes = new Uint8Array(new Float64Array(xs).buffer);
  let h = 0x811c9dc5;
  for (const x of bytes) {
    h ^= x;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

const RECORDED = [
  {
    seed: 0,
    train: [1144304738, 1416247, 958946056, 627933444],
    trainDigest: '696c6f45',
    trainState: 3344012320,
    subSeeds: [2932621785, 3298490996],
    growthFirst: [0.4801359330303967, 0.9369495702313898],
    growthDigest: 'ac570cf2',
  },
  {
    seed: 1,
    train: [2693262067, 11749833, 2265367787, 4213581821],
    trainDigest: 'd75d2891',
    trainState: 3344012321,
    subSeeds: [456958438, 2642869133],
    growthFirst: [0.5025438519660383, 0.8661042883455264],
    growthDigest: '2ce9b6ca',
  },
  {
    seed: 1234,
    train: [314799534, 3021131492, 3877737075, 4168477787],
    trainDigest: '988f10d3',
    trainState: 3344013554,
    subSeeds: [2190232656, 3356874315],
    growthFirst: [0.010131104616448283, -2.0662696724830028],
    growthDigest: 'ef45ba4b',
  },
  {
    seed: 4294967295,
    train: [3850105811, 813802916, 3073704848, 4054706436],
    trainDigest: '7b38460f',
    trainState: 3344012319,
    subSeeds: [21683753, 2535169150],
    growthFirst: [0.12033998570404947, -1.900614210380597],
    growthDigest: '3b06a3a6',
  },
];

for (const r of RECORDED) {
  test(`training stream of seed ${r.seed}: uint32s, a mixed next/normal/int sequence, the saved state, sub-seeds`, () => {
    const a = new Rng(r.seed);
    assert.deepEqual(
      Array.from({ length: 4 }, () => a.nextUint32()),
      r.train,
    );
    const b = new Rng(r.seed);
    const mixed: number[] = [];
    for (let i = 0; i < 3000; i++) mixed.push(i % 3 === 0 ? b.next() : i % 3 === 1 ? b.normal() : b.int(1000));
    assert.equal(digest(mixed), r.trainDigest);
    assert.equal(b.state, r.trainState);
    assert.deepEqual([subSeed(r.seed, 'data'), subSeed(r.seed, 'moments')], r.subSeeds);
  });

  test(`growth stream of seed ${r.seed}: per-tensor seeding, paired normals, ints`, () => {
    assert.deepEqual([rngFor(r.seed, 'x').next(), rngFor(r.seed, 'x').pairedNormal()], r.growthFirst);
    const g = rngFor(r.seed, 'fill:model.layers.0.mlp.up_proj.weight');
    const seq: number[] = [];
    for (let i = 0; i < 3000; i++) seq.push(i % 3 === 0 ? g.next() : i % 3 === 1 ? g.pairedNormal() : g.int(1000));
    assert.equal(digest(seq), r.growthDigest);
  });
}

test('a training stream resumes from its saved state', () => {
  const a = new Rng(7);
  for (let i = 0; i < 10; i++) a.normal();
  const b = Rng.fromState(a.state);
  assert.deepEqual(
    Array.from({ length: 5 }, () => b.normal()),
    Array.from({ length: 5 }, () => a.normal()),
  );
});

test('fillPairedNormal draws what as many pairedNormal calls draw, from any spare state, into float32 and float64 arrays', () => {
  for (const skip of [0, 1, 2, 3]) {
    for (const len of [0, 1, 2, 5, 1000, 1001]) {
      for (const Kind of [Float32Array, Float64Array]) {
        const a = rngFor(7, `t${skip}`);
        const b = rngFor(7, `t${skip}`);
        for (let i = 0; i < skip; i++) assert.equal(a.pairedNormal(), b.pairedNormal());
        const want = new Kind(len + 2);
        for (let i = 0; i < len; i++) want[i + 1] = 0.02 * a.pairedNormal();
        const got = new Kind(len + 2);
        b.fillPairedNormal(got, 1, len, 0.02);
        assert.deepEqual(got, want, `skip ${skip}, len ${len}, ${Kind.name}`);
        // the spare and the state carry on alike
        assert.deepEqual([b.pairedNormal(), b.pairedNormal(), b.pairedNormal(), b.state], [a.pairedNormal(), a.pairedNormal(), a.pairedNormal(), a.state]);
      }
    }
  }
});
