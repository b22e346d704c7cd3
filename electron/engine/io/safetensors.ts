/**
 * The safetensors format, by the spec: an 8-byte little-endian header length N, N bytes of
 * JSON ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}),
 * then the raw little-endian tensor bytes. The header is validated against the file size
 * before any tensor is read; tensors are read one at a time, so large files stream.
 */
import { promises as fs } from 'node:fs';
import { endianness } from 'node:os';
import { atomicWrite } from './atomic.ts';
import { WriteQueue, type WriteQueueOptions } from './write-queue.ts';
import { DTYPE_BYTES, type Dtype, decodeToFloat32, decodeToInt32, isDtype } from './dtype.ts';
import { ScionError, systemProblem } from '../errors.ts';

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Byte offsets relative to the start of the data section. */
  begin: number;
  end: number;
}

const MAX_HEADER = 100 * 1024 * 1024;
const LITTLE_ENDIAN = endianness() === 'LE';

function fail(file: string, problem: string): never {
  throw new ScionError(`${file}: ${problem}`, 'E_SAFETENSORS', file);
}

function parseHeader(file: string, json: string, dataBytes: number): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    fail(file, `the header is not valid JSON (${(e as Error).message}); the file is corrupt or not safetensors`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, 'the header is not a JSON object');
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null) fail(file, '__metadata__ is not an object');
      metadata = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof v !== 'object' || v === null) fail(file, `tensor '${name}' has no description`);
    if (typeof v.dtype !== 'string' || !isDtype(v.dtype)) {
      fail(file, `tensor '${name}' has unknown dtype ${JSON.stringify(v.dtype)} (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
    }
    if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(file, `tensor '${name}' has an invalid shape ${JSON.stringify(v.shape)}`);
    }
    const offs = v.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(file, `tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const shape = v.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[v.dtype];
    if (end < begin) fail(file, `tensor '${name}' has data_offsets [${begin}, ${end}] that end before they begin`);
    if (end - begin !== expected) {
      fail(
        file,
        `tensor '${name}' of dtype ${v.dtype} and shape [${shape.join(', ')}] needs ${expected} bytes but its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    if (end > dataBytes) {
      fail(
        file,
        `tensor '${name}' has data_offsets [${begin}, ${end}] past the end of the data (${dataBytes} bytes): the file is truncated or its header lies`,
      );
    }
    spans.push([begin, end, name]);
    tensors.set(name, { name, dtype: v.dtype, shape, begin, end });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) fail(file, `tensors '${spans[i - 1]![2]}' and '${spans[i]![2]}' overlap`);
  }
  return { tensors, metadata };
}

/** An open safetensors file. Tensors are read on demand. */
export class SafetensorsFile {
  private constructor(
    readonly file: string,
    private readonly handle: fs.FileHandle,
    private readonly dataStart: number,
    readonly tensors: Map<string, TensorInfo>,
    readonly metadata: Record<string, string>,
  ) {}

  static async open(file: string): Promise<SafetensorsFile> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ScionError(
        code === 'ENOENT' ? `${file}: file not found` : `${file}: cannot open it: ${systemProblem(e) ?? (e as Error).message}`,
        'E_SAFETENSORS',
        file,
      );
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) fail(file, 'is a folder, not a safetensors file');
      const size = st.size;
      if (size < 8) fail(file, `the file has ${size} bytes, fewer than the 8-byte header length: it is truncated or not safetensors`);
      const lenBuf = Buffer.alloc(8);
      await handle.read(lenBuf, 0, 8, 0);
      const headerLen = lenBuf.readBigUInt64LE(0);
      if (headerLen > BigInt(MAX_HEADER)) fail(file, `the header length ${headerLen} is implausibly large: the file is corrupt or not safetensors`);
      const n = Number(headerLen);
      if (8 + n > size) fail(file, `the header claims ${n} bytes but the file has only ${size - 8} after the length: it is truncated`);
      const headerBuf = Buffer.alloc(n);
      await handle.read(headerBuf, 0, n, 8);
      const { tensors, metadata } = parseHeader(file, headerBuf.toString('utf8'), size - 8 - n);
      return new SafetensorsFile(file, handle, 8 + n, tensors, metadata);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) fail(this.file, `has no tensor named '${name}'`);
    return t;
  }

  /** The raw bytes of one tensor (into `buf` when given: exactly its size). */
  async readBytes(name: string, buf?: Uint8Array): Promise<Uint8Array> {
    const t = this.info(name);
    if (buf === undefined) buf = new Uint8Array(new ArrayBuffer(t.end - t.begin));
    else if (buf.byteLength !== t.end - t.begin) throw new Error(`readBytes: a buffer of ${buf.byteLength} bytes for '${name}' of ${t.end - t.begin}`);
    const { bytesRead } = await this.handle.read(buf, 0, buf.byteLength, this.dataStart + t.begin);
    if (bytesRead !== buf.byteLength) fail(this.file, `tensor '${name}' could not be read whole (file changed while reading?)`);
    return buf;
  }

  /** One tensor as float32 values; an F32 tensor is read straight into `into` when it has the tensor's size (a reused array). */
  async readFloat32(name: string, into?: Float32Array): Promise<Float32Array> {
    const t = this.info(name);
    // F32 on a little-endian machine: the bytes read are the array (no copy)
    if (t.dtype === 'F32' && LITTLE_ENDIAN) {
      const out = into?.byteLength === t.end - t.begin ? into : new Float32Array((t.end - t.begin) / 4);
      await this.readBytes(name, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      return out;
    }
    return decodeToFloat32(await this.readBytes(name), t.dtype, this.file, name);
  }

  async readInt32(name: string): Promise<Int32Array> {
    return decodeToInt32(await this.readBytes(name), this.info(name).dtype, this.file, name);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** One tensor to write: float32 data (written as F32) or int32 data (written as I32). */
export interface TensorEntry {
  name: string;
  shape: number[];
  dtype?: 'F32' | 'I32';
}

/**
 * Writes a safetensors file atomically. Tensors are fetched one at a time through `data`
 * and written in order, so the whole checkpoint is never held in memory. Writing is a pipeline
 * (io/write-queue.ts): the next tensors are fetched (computed) while earlier ones go to the file,
 * up to `queue.maxQueued` bytes ahead, and written data is flushed to disk in the background as it
 * accumulates: compute, write and flush overlap. An array returned by `data` must stay unchanged
 * until `onWritten` hears of it (return a fresh one each call, or reuse one `onWritten` gave back).
 */
export async function writeSafetensors(
  file: string,
  entries: TensorEntry[],
  data: (name: string) => Promise<Float32Array | Int32Array> | Float32Array | Int32Array,
  metadata: Record<string, string> = { format: 'pt' },
  /** Hears of each array once it is written (nothing here holds it any more). */
  onWritten?: (values: Float32Array | Int32Array) => void,
  queue: WriteQueueOptions = {},
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name)) throw new ScionError(`${file}: tensor '${e.name}' is listed twice`, 'E_SAFETENSORS', file);
    seen.add(e.name);
    const bytes = e.shape.reduce((a, b) => a * b, 1) * 4;
    header[e.name] = { dtype: e.dtype ?? 'F32', shape: e.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(head.byteLength - 8));
  head.write(json, 8, 'utf8');
  await atomicWrite(file, async (h) => {
    const writes = new WriteQueue(h, queue);
    try {
      writes.push(head, 0);
      let at = head.byteLength;
      for (const e of entries) {
        await writes.room();
        const values = await data(e.name);
        const want = e.shape.reduce((a, b) => a * b, 1);
        if (values.length !== want) {
          throw new ScionError(
            `${file}: tensor '${e.name}' has ${values.length} values but shape [${e.shape.join(', ')}] needs ${want}`,
            'E_SAFETENSORS',
            file,
          );
        }
        const isInt = (e.dtype ?? 'F32') === 'I32';
        if (isInt !== values instanceof Int32Array) {
          throw new ScionError(`${file}: tensor '${e.name}' data does not match its dtype ${e.dtype ?? 'F32'}`, 'E_SAFETENSORS', file);
        }
        writes.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at, () => onWritten?.(values));
        at += values.byteLength;
      }
      await writes.drain();
    } finally {
      // nothing may still run on the handle once atomicWrite closes it (a failure above)
      await writes.settle();
    }
  });
}
