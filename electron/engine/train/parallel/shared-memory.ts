/**
 * A thread pool's shared memory: the parameters, the AdamW moments and one gradient per rank,
 * Float32 [P] each in the flat layout, plus 64 bytes of scratch per rank (where the SIMD
 * all-reduce leaves its sum of squares). All of it lies in one shared WebAssembly memory when
 * that fits wasm32's 4 GiB, so the SIMD slice functions (slice-kernels.ts) can run on it;
 * otherwise each array is a SharedArrayBuffer of its own and the slices run in JavaScript.
 */
import { MAX_PAGES } from '../../kernels/wasm-asm.ts';
import type { WasmMemory } from '../../kernels/simd-kernels.ts';

/** Where one array lies. */
export interface Region {
  buffer: SharedArrayBuffer;
  byteOffset: number;
}

/** The shared memory as sent to the compute threads (protocol.ts). */
export interface SharedBuffers {
  /** The shared WebAssembly memory holding every region, when they fit one. */
  memory?: WasmMemory;
  /** P, the entries of each array. */
  entries: number;
  params: Region;
  m: Region;
  v: Region;
  /** One per rank, rank 0's first. */
  grads: Region[];
  /** Byte offset of rank 0's 64 bytes of scratch in `memory` (rank r's at + 64 r). */
  scratch: number;
}

/** Float32 views of the shared memory. */
export interface SharedViews {
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  grads: Float32Array[];
}

const PAGE = 65536;
const ALIGN = 64;

interface WasmMemoryApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

/**
 * Shared memory for `entries` parameters and `ranks` gradients: one WebAssembly memory where it
 * fits (and `wasm` is not false), else one SharedArrayBuffer per array.
 */
export function allocateShared(entries: number, ranks: number, opts: { wasm?: boolean } = {}): SharedBuffers {
  const bytes = Math.ceil((entries * Float32Array.BYTES_PER_ELEMENT) / ALIGN) * ALIGN;
  const scratchBytes = ranks * ALIGN;
  const total = scratchBytes + (3 + ranks) * bytes;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const WA = (globalThis as unknown as { WebAssembly?: WasmMemoryApi }).WebAssembly;
  if (opts.wasm !== false && WA && pages <= MAX_PAGES) {
    let memory: WasmMemory | undefined;
    try {
      memory = new WA.Memory({ initial: pages, maximum: pages, shared: true });
    } catch {
      memory = undefined; // no shared WebAssembly memory here (or not this large): plain buffers
    }
    if (memory) {
      const buffer = memory.buffer as unknown as SharedArrayBuffer;
      const region = (i: number): Region => ({ buffer, byteOffset: scratchBytes + i * bytes });
      return { memory, entries, scratch: 0, params: region(0), m: region(1), v: region(2), grads: Array.from({ length: ranks }, (_, r) => region(3 + r)) };
    }
  }
  const own = (): Region => ({ buffer: new SharedArrayBuffer(entries * Float32Array.BYTES_PER_ELEMENT), byteOffset: 0 });
  return { entries, scratch: 0, params: own(), m: own(), v: own(), grads: Array.from({ length: ranks }, own) };
}

/** Float32 views of `b`'s arrays. */
export function sharedViews(b: SharedBuffers): SharedViews {
  const view = (r: Region) => new Float32Array(r.buffer, r.byteOffset, b.entries);
  return { params: view(b.params), m: view(b.m), v: view(b.v), grads: b.grads.map(view) };
}
