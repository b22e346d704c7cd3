/**
 * Reading one field of a Hugging Face config.json: required or defaulted, checked, and every
 * refusal naming the file, the field and its value.
 */
import { ScionError } from '../errors.ts';

export type Json = Record<string, unknown>;

/** Refuses a field's value: `<file>: <field> = <value> is not supported: <why>`. */
export function bad(file: string, field: string, value: unknown, why: string): never {
  throw new ScionError(`${file}: ${field} = ${JSON.stringify(value)} is not supported: ${why}`, 'E_CONFIG', file);
}

/** A positive integer field (or `fallback` when absent). */
export function int(raw: Json, file: string, field: string, fallback?: number): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    if (v === undefined) throw new ScionError(`${file}: required field ${field} is missing`, 'E_CONFIG', file);
    bad(file, field, v, 'expected a positive integer');
  }
  return v;
}

/** A positive finite number field (or `fallback` when absent). */
export function num(raw: Json, file: string, field: string, fallback?: number): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    if (v === undefined) throw new ScionError(`${file}: required field ${field} is missing`, 'E_CONFIG', file);
    bad(file, field, v, 'expected a positive number');
  }
  return v;
}

/** Refuses a field whose value (when present and not null) is not one of `allowed`. */
export function requireValue(raw: Json, file: string, field: string, allowed: unknown[], why: string): void {
  const v = raw[field];
  if (v === undefined || v === null) return;
  if (!allowed.includes(v)) bad(file, field, v, why);
}

/**
 * Token ids a config names must lie inside the vocabulary; transformers' defaults (GPT-2's
 * 50256) do not for a small model made from scratch, so those are written as null.
 */
export function specialTokens(vocabSize: number, base: Json): Json {
  const out: Json = {};
  for (const k of ['bos_token_id', 'eos_token_id', 'pad_token_id']) {
    const v = base[k];
    out[k] = typeof v === 'number' && v >= 0 && v < vocabSize ? v : null;
  }
  return out;
}
