/**
 * The weights writer's pipeline (io/write-queue.ts under io/safetensors.ts and
 * io/model-weights.ts): tensors are computed ahead of the disk, within a bound, and the files
 * are byte for byte what a plain sequential write of the spec's layout gives; a failure part-way
 * (a bad tensor, a failing write) leaves nothing half-written behind.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { writeModelWeights } from '../../electron/engine/io/model-weights.ts';
import { type TensorEntry, SafetensorsFile, writeSafetensors } from '../../electron/engine/io/safetensors.ts';
import { WriteQueue } from '../../electron/engine/io/write-queue.ts';
import { BufferPool } from '../../electron/engine/growth/grow.ts';
import { tempDir } from '../helpers/tmp.ts';

const tmp = tempDir('scion-write-pipeline-');
after(tmp.cleanup);

/** 40 tensors of varied shapes (some empty, one int32), each with its own deterministic values. */
function manyTensors(): { entries: TensorEntry[]; values: Map<string, Float32Array | Int32Array> } {
  const entries: TensorEntry[] = [];
  const values = new Map<string, Float32Array | Int32Array>();
  let s = 12345;
  for (let i = 0; i < 40; i++) {
    const shape = i % 13 === 5 ? [0, 3] : [1 + ((i * 7) % 11), 1 + ((i * 5) % 17)];
    const name = `layer.${i}.weight`;
    const n = shape[0]! * shape[1]!;
    const int = i === 17;
    const a = int ? new Int32Array(n) : new Float32Array(n);
    for (let k = 0; k < n; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[k] = int ? s | 0 : s / 4294967296 - 0.5;
    }
    entries.push(int ? { name, shape, dtype: 'I32' } : { name, shape });
    values.set(name, a);
  }
  return { entries, values };
}

/** A safetensors file as the spec lays it out, concatenated in one go: the reference bytes. */
function plainFile(entries: TensorEntry[], values: Map<string, Float32Array | Int32Array>, metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const e of entries) {
    const bytes = values.get(e.name)!.byteLength;
    header[e.name] = { dtype: e.dtype ?? 'F32', shape: e.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while (Buffer.byteLength(json) % 8 !== 0) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const data = entries.map((e) => {
    const a = values.get(e.name)!;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  });
  return Buffer.concat([len, Buffer.from(json, 'utf8'), ...data]);
}

test('tensors are computed ahead of the disk (more than one), never more than the queue bound ahead, and each file is the plain sequential bytes', async () => {
  const { entries, values } = manyTensors();
  const metadata = { format: 'pt', note: 'pipeline' };
  const maxQueued = 600;
  let outstanding = 0;
  let most = 0;
  let mostTensors = 0;
  const inFlight = new Set<string>();
  const names = new WeakMap<object, string>();
  const largest = Math.max(...[...values.values()].map((a) => a.byteLength));
  const dir = path.join(tmp.dir, 'sharded');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir);
  const written = await writeModelWeights(
    dir,
    entries,
    (name) => {
      const a = values.get(name)!.slice(); // a fresh copy: the writer may hold it until onWritten
      outstanding += a.byteLength;
      inFlight.add(name);
      most = Math.max(most, outstanding - a.byteLength); // bytes handed over earlier and not yet reported written
      mostTensors = Math.max(mostTensors, inFlight.size);
      names.set(a, name);
      return a;
    },
    {
      metadata,
      maxShardBytes: 2000,
      queue: { maxQueued, chunk: 100, flushEvery: 1000 },
      onWritten: (a) => {
        outstanding -= a.byteLength;
        inFlight.delete(names.get(a)!);
      },
    },
  );
  assert.equal(outstanding, 0, 'every array was handed back once written');
  // the queue counts unwritten bytes by chunk, so the tensor being written may count here in full
  assert.ok(most <= maxQueued + largest, `${most} bytes were waiting when the next tensor was asked for (bound ${maxQueued} + ${largest})`);
  assert.ok(mostTensors > 2, `at most ${mostTensors} tensors in flight: the writer does not run ahead of the disk`);
  // every shard, as the index names them, is the plain layout of its tensors in order
  const index = JSON.parse(readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
  const shards = [...new Set(Object.values(index.weight_map))];
  assert.ok(shards.length >= 4, `${shards.length} shards`);
  assert.deepEqual(written.files, [...shards, 'model.safetensors.index.json']);
  for (const shard of shards) {
    const mine = entries.filter((e) => index.weight_map[e.name] === shard);
    assert.ok(readFileSync(path.join(dir, shard)).equals(plainFile(mine, values, metadata)), `${shard} differs from the plain sequential write`);
  }
  assert.deepEqual(readdirSync(dir).sort(), [...written.files].sort(), 'no temporary file is left');
});

test('the default pipeline writes a single file byte for byte as the plain layout, and it reads back', async () => {
  const { entries, values } = manyTensors();
  const f = path.join(tmp.dir, 'single.safetensors');
  await writeSafetensors(f, entries, (name) => values.get(name)!.slice());
  assert.ok(readFileSync(f).equals(plainFile(entries, values, { format: 'pt' })));
  const back = await SafetensorsFile.open(f);
  try {
    const into = new Float32Array(values.get('layer.3.weight')!.length);
    const got = await back.readFloat32('layer.3.weight', into);
    assert.equal(got, into, 'an F32 tensor is read into the array given');
    assert.deepEqual(got, values.get('layer.3.weight'));
    const fresh = await back.readFloat32('layer.3.weight', new Float32Array(1));
    assert.deepEqual(fresh, values.get('layer.3.weight'), 'an array of the wrong size is not used');
  } finally {
    await back.close();
  }
});

test('a tensor that fails part-way through a shard leaves the folder with only the shards completed before it', async () => {
  const { entries, values } = manyTensors();
  const dir = path.join(tmp.dir, 'fails');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir);
  let calls = 0;
  await assert.rejects(
    writeModelWeights(
      dir,
      entries,
      (name) => {
        if (++calls === 30) throw new Error('growth failed at the 30th tensor');
        return values.get(name)!.slice();
      },
      { maxShardBytes: 3000, queue: { maxQueued: 1500, chunk: 64 } },
    ),
    /growth failed at the 30th tensor/,
  );
  const left = readdirSync(dir);
  assert.ok(left.length > 0, 'the shards before the failure were written');
  for (const f of left) {
    assert.match(f, /^model-\d{5}-of-\d{5}\.safetensors$/, `${f} is a finished shard, not a temporary`);
    const st = await SafetensorsFile.open(path.join(dir, f)); // whole and readable
    await st.close();
  }
  assert.ok(!existsSync(path.join(dir, 'model.safetensors.index.json')), 'no index names shards that are not there');
});

/** A file handle whose writes go to memory, the `failAt`-th write failing. */
function fakeHandle(failAt: number): { handle: fs.FileHandle; writes: Array<[number, number]>; bytes: Uint8Array } {
  const bytes = new Uint8Array(1000);
  const writes: Array<[number, number]> = [];
  const handle = {
    async write(buf: Uint8Array, offset: number, length: number, position: number) {
      await new Promise((r) => setTimeout(r, 1));
      if (writes.length + 1 === failAt) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      writes.push([position, length]);
      bytes.set(buf.subarray(offset, offset + length), position);
      return { bytesWritten: length, buffer: buf };
    },
    async datasync() {},
  } as unknown as fs.FileHandle;
  return { handle, writes, bytes };
}

test('the write queue: chunks in order at their positions; a failing write stops the rest and is thrown by room() and drain()', async () => {
  const ok = fakeHandle(0);
  const q = new WriteQueue(ok.handle, { maxQueued: 50, chunk: 16, flushEvery: 0 });
  const heard: number[] = [];
  q.push(new Uint8Array(40).fill(1), 0, () => heard.push(1));
  q.push(new Uint8Array(0), 40, () => heard.push(2));
  q.push(new Uint8Array(20).fill(3), 40, () => heard.push(3));
  assert.equal(q.pending, 60);
  await q.room();
  assert.ok(q.pending <= 50);
  await q.drain();
  assert.deepEqual(ok.writes, [
    [0, 16],
    [16, 16],
    [32, 8],
    [40, 16],
    [56, 4],
  ]);
  assert.deepEqual(heard, [1, 2, 3]);
  assert.deepEqual([...ok.bytes.subarray(0, 61)], [...new Array(40).fill(1), ...new Array(20).fill(3), 0]);

  const bad = fakeHandle(3);
  const q2 = new WriteQueue(bad.handle, { maxQueued: 10, chunk: 16 });
  let told = 0;
  q2.push(new Uint8Array(100), 0, () => told++);
  q2.push(new Uint8Array(10), 100, () => told++);
  await assert.rejects(q2.room(), /ENOSPC/);
  await assert.rejects(q2.drain(), /ENOSPC/);
  await q2.settle();
  assert.equal(bad.writes.length, 2, 'no write after the failing one');
  assert.equal(told, 0, 'no array is reported written');
});

test('the buffer pool hands back an array of the size asked, and keeps at most its byte budget, dropping the oldest', () => {
  const pool = new BufferPool(100);
  const a = new Float32Array(10); // 40 bytes
  const b = new Float32Array(10);
  const c = new Float32Array(5); // 20 bytes
  pool.give(a);
  pool.give(c);
  pool.give(b); // 100 bytes: all kept
  assert.equal(pool.take(10), b, 'the most recent of the size');
  pool.give(b);
  pool.give(new Float32Array(8)); // 132 bytes: the oldest (a) goes
  assert.equal(pool.take(10), b);
  assert.notEqual(pool.take(10), a, 'a was dropped');
  assert.equal(pool.take(5), c);
  pool.give(new Float32Array(30)); // larger than the whole budget: not kept
  assert.equal(pool.take(30).length, 30);
  pool.give(new Float32Array(new ArrayBuffer(80), 4, 10)); // a view into a larger buffer is never pooled
  assert.equal(pool.take(10).byteOffset, 0);
});
