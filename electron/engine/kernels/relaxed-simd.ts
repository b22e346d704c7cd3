/**
 * Relaxed SIMD (f32x4.relaxed_madd: a multiply-add with one rounding, FMA on x64 with FMA3) for
 * the hand-assembled kernels. Electron 45 (V8 14) has it on; Node 20's V8 has it behind
 * --experimental-wasm-relaxed-simd, which is turned on here at run time (a wasm feature flag,
 * read when a module is compiled; nothing compiled before changes). kernels/wasm-kernels.ts does
 * not ask with SCION_FMA=0.
 */
import * as v8 from 'node:v8';
import { assemble, op } from './wasm-asm.ts';

/** A module whose only function does one relaxed_madd: valid only where relaxed SIMD is on. */
const PROBE = assemble([
  {
    name: 'probe',
    params: 0,
    locals: [],
    body: [...op.v128Zero, ...op.v128Zero, ...op.v128Zero, ...op.f32x4RelaxedMadd, 0x1a /* drop */],
  },
]);

let cached: boolean | undefined;

function validates(): boolean {
  return (globalThis as unknown as { WebAssembly: { validate: (b: Uint8Array) => boolean } }).WebAssembly.validate(PROBE);
}

/** Whether relaxed SIMD modules compile here (turning Node 20's flag on first when needed). */
export function relaxedSimd(): boolean {
  if (cached !== undefined) return cached;
  cached = validates();
  if (!cached) {
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      cached = validates();
    } catch {
      cached = false;
    }
  }
  return cached;
}
