/** safetensors reading and writing: bit-exact round trips, and clear errors for bad files. */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { openWeightFiles } from '../../electron/engine/io/weight-files.ts';
import { SafetensorsFile, writeSafetensors } from '../../electron/engine/io/safetensors.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { listFiles, tempDir } from '../helpers/tmp.ts';

const tmp = tempDir();
after(tmp.cleanup);

/** A safetensors file from a header object and raw data bytes, written by hand. */
function handMade(file: string, header: unknown, data: Uint8Array, lengthOverride?: bigint): void {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(json.byteLength));
  writeFileSync(file, Buffer.concat([len, json, data]));
}

describe('safetensors round trip', () => {
  test('every fixture checkpoint re-written is bit-identical tensor by tensor', async () => {
    const src = await SafetensorsFile.open(path.join(fixtureDir('llama-shakespeare-h64-l2'), 'model.safetensors'));
    const out = path.join(tmp.dir, 'roundtrip.safetensors');
    const entries = src.names().map((n) => ({ name: n, shape: src.info(n).shape }));
    await writeSafetensors(out, entries, (n) => src.readFloat32(n), src.metadata);
    const back = await SafetensorsFile.open(out);
    assert.deepEqual(back.metadata, src.metadata);
    for (const n of src.names()) {
      assert.deepEqual(back.info(n).shape, src.info(n).shape);
      assert.ok(Buffer.from(await back.readBytes(n)).equals(Buffer.from(await src.readBytes(n))), `bytes of ${n}`);
    }
    await Promise.all([src.close(), back.close()]);
  });

  test('special float values and int32 ids survive exactly', async () => {
    const f = path.join(tmp.dir, 'special.safetensors');
    const floats = new Float32Array([0, -0, 1.5e-45, 3.4028235e38, -Infinity, Infinity, NaN, 1 / 3]);
    const ints = new Int32Array([0, -1, 2147483647, -2147483648]);
    await writeSafetensors(
      f,
      [
        { name: 'f', shape: [2, 4] },
        { name: 'i', shape: [4], dtype: 'I32' },
      ],
      (n) => (n === 'f' ? floats : ints),
    );
    const r = await SafetensorsFile.open(f);
    assert.ok(Buffer.from((await r.readFloat32('f')).buffer).equals(Buffer.from(floats.buffer)));
    assert.deepEqual(await r.readInt32('i'), ints);
    await r.close();
  });

  test('F16 and BF16 tensors are read as the float values they encode', async () => {
    const f = path.join(tmp.dir, 'half.safetensors');
    // F16: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal 2^-24 = 0x0001
    // BF16: 1.0 = 0x3f80, -0.5 = 0xbf00, 3.140625 = 0x4049
    const data = Buffer.alloc(14);
    [0x3c00, 0xc000, 0x7bff, 0x0001].forEach((v, i) => data.writeUInt16LE(v, i * 2));
    [0x3f80, 0xbf00, 0x4049].forEach((v, i) => data.writeUInt16LE(v, 8 + i * 2));
    handMade(f, { h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] }, b: { dtype: 'BF16', shape: [3], data_offsets: [8, 14] } }, data);
    const r = await SafetensorsFile.open(f);
    assert.deepEqual(Array.from(await r.readFloat32('h')), [1, -2, 65504, 2 ** -24]);
    assert.deepEqual(Array.from(await r.readFloat32('b')), [1, -0.5, 3.140625]);
    await r.close();
  });

  test('a sharded checkpoint is read through its index', async () => {
    const dir = path.join(tmp.dir, 'sharded');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    await writeSafetensors(path.join(dir, 'a.safetensors'), [{ name: 'x', shape: [2] }], () => new Float32Array([1, 2]));
    await writeSafetensors(path.join(dir, 'b.safetensors'), [{ name: 'y', shape: [1] }], () => new Float32Array([3]));
    writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'b.safetensors' } }));
    const ck = await openWeightFiles(dir);
    assert.deepEqual(ck.names().sort(), ['x', 'y']);
    assert.deepEqual(Array.from(await ck.readFloat32('y')), [3]);
    await ck.close();
  });
});

describe('safetensors errors', () => {
  const good = path.join(fixtureDir('gpt2-random-d64-l2'), 'model.safetensors');

  async function rejects(file: string, pattern: RegExp): Promise<void> {
    const before = listFiles(tmp.dir);
    await assert.rejects(SafetensorsFile.open(file), (e: Error) => {
      assert.match(e.message, pattern);
      assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
      return true;
    });
    assert.deepEqual(listFiles(tmp.dir), before, 'a failed read wrote nothing');
  }

  test('a truncated file', async () => {
    const f = path.join(tmp.dir, 'truncated.safetensors');
    const bytes = readFileSync(good);
    writeFileSync(f, bytes.subarray(0, bytes.byteLength - 1000));
    await rejects(f, /past the end of the data.*truncated/);
    writeFileSync(f, bytes.subarray(0, 5));
    await rejects(f, /truncated or not safetensors/);
  });

  test('a header longer than the file', async () => {
    const f = path.join(tmp.dir, 'longheader.safetensors');
    handMade(f, { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4), 10_000n);
    await rejects(f, /header claims 10000 bytes/);
  });

  test('offsets that lie about the size', async () => {
    const f = path.join(tmp.dir, 'lying.safetensors');
    handMade(f, { a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(16));
    await rejects(f, /needs 16 bytes but its data_offsets \[0, 12\] span 12/);
    handMade(f, { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } }, new Uint8Array(8));
    await rejects(f, /overlap/);
  });

  test('an unknown dtype', async () => {
    const f = path.join(tmp.dir, 'dtype.safetensors');
    handMade(f, { a: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, new Uint8Array(4));
    await rejects(f, /unknown dtype "F8_E4M3"/);
  });

  test('a header that is not JSON', async () => {
    const f = path.join(tmp.dir, 'garbage.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(4n);
    writeFileSync(f, Buffer.concat([len, Buffer.from('{{{{')]));
    await rejects(f, /not valid JSON/);
  });

  test('a missing file', async () => {
    await rejects(path.join(tmp.dir, 'nope.safetensors'), /file not found/);
  });

  test('a write whose data does not match its shape leaves nothing behind', async () => {
    const before = listFiles(tmp.dir);
    const f = path.join(tmp.dir, 'bad-write.safetensors');
    await assert.rejects(
      writeSafetensors(f, [{ name: 'a', shape: [3] }], () => new Float32Array(2)),
      /has 2 values but shape \[3\] needs 3/,
    );
    assert.deepEqual(listFiles(tmp.dir), before);
  });

  test('a write over an existing file either fully replaces it or leaves it intact', async () => {
    const f = path.join(tmp.dir, 'keep.safetensors');
    copyFileSync(good, f);
    const original = readFileSync(f);
    await assert.rejects(
      writeSafetensors(f, [{ name: 'a', shape: [1] }], () => {
        throw new Error('disk on fire');
      }),
      /disk on fire/,
    );
    assert.ok(readFileSync(f).equals(original));
  });
});
