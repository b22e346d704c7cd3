/** Conversions between safetensors dtypes and JavaScript typed arrays. */
import { ScionError } from '../errors.ts';

export const DTYPE_BYTES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const;

export type Dtype = keyof typeof DTYPE_BYTES;

export function isDtype(s: string): s is Dtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half -> float (exact). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Decodes raw little-endian bytes of `dtype` into float32 values. */
export function decodeToFloat32(bytes: Uint8Array, dtype: Dtype, file: string, name: string): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      if (bytes.byteOffset % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
      else for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    case 'BF16':
      for (let i = 0; i < n; i++) {
        u32[0] = view.getUint16(i * 2, true) << 16;
        out[i] = f32[0]!;
      }
      return out;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    case 'I64':
      for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      return out;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
      return out;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      return out;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
      return out;
    default:
      throw new ScionError(`${file}: tensor '${name}' has dtype ${String(dtype)}, which cannot be read as float`, 'E_SAFETENSORS', file);
  }
}

/** Decodes integer tensors (token ids) into int32 values. */
export function decodeToInt32(bytes: Uint8Array, dtype: Dtype, file: string, name: string): Int32Array {
  if (dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64') {
    throw new ScionError(`${file}: tensor '${name}' has dtype ${dtype}; integer ids were expected`, 'E_SAFETENSORS', file);
  }
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (dtype === 'I32') out[i] = view.getInt32(i * 4, true);
    else if (dtype === 'I64') {
      const v = view.getBigInt64(i * 8, true);
      if (v > 2147483647n || v < -2147483648n) throw new ScionError(`${file}: tensor '${name}' holds ${v}, which does not fit in int32`, 'E_SAFETENSORS', file);
      out[i] = Number(v);
    } else if (dtype === 'I16') out[i] = view.getInt16(i * 2, true);
    else if (dtype === 'I8') out[i] = view.getInt8(i);
    else out[i] = view.getUint8(i);
  }
  return out;
}

/**
 * Refuses float data with NaN or infinite values, naming the file, the tensor, how many and
 * where the first is. One pass over the decoded values, no copy.
 */
export function assertFinite(values: Float32Array, file: string, name: string): void {
  const n = values.length;
  let i = 0;
  for (; i < n; i++) {
    const x = values[i]!;
    if (x - x !== 0) break; // NaN and +-Infinity only
  }
  if (i === n) return;
  let count = 0;
  for (let j = i; j < n; j++) if (values[j]! - values[j]! !== 0) count++;
  throw new ScionError(
    `${file}: tensor '${name}' has ${count} NaN or infinite value${count === 1 ? '' : 's'} (the first, ${values[i]}, at flat index ${i} of ${n}); ` +
      'refusing weights that are not finite (the file is corrupt, or the training that wrote it diverged)',
    'E_NONFINITE',
    file,
  );
}
