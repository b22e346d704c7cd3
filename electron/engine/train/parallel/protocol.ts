/**
 * Messages between the training process and its compute threads (pool.ts, thread.ts). Bulk
 * data never travels in messages: the parameters and each thread's gradient live in
 * SharedArrayBuffers (layout in pool.ts); messages carry token ids and small results.
 */
import type { ModelConfig } from '../../models/config.ts';

/** Rows of token windows: inputs and targets [rows, ctx], row-major. */
export interface Rows {
  inputs: Int32Array;
  targets: Int32Array;
  rows: number;
  ctx: number;
}

/** A masked-growth multiplier (see growth/mask.ts), sent by value. */
export interface SentTensor {
  data: Float32Array;
  shape: number[];
}

export type ToThread =
  | {
      type: 'init';
      backend: string;
      config: ModelConfig;
      /** Parameter names and shapes, in the flat layout's order. */
      layout: { name: string; shape: number[] }[];
      params: SharedArrayBuffer;
      grad: SharedArrayBuffer;
    }
  /** Gradient of the mean loss over `chunks` (each at most one micro-batch) into this thread's gradient buffer. */
  | { type: 'grad'; id: number; version: number; chunks: Rows[]; multipliers?: Record<string, SentTensor>; recompute?: boolean }
  /** Summed loss and top-1 hits over `chunks` (evaluation). */
  | { type: 'eval'; id: number; version: number; chunks: Rows[] };

export type FromThread =
  | { type: 'ready' }
  /** `lossSum`: the sum over chunks of rows x mean loss; for 'eval' the summed loss and `correct`. */
  | { type: 'done'; id: number; lossSum: number; correct?: number; rowLossSums?: number[] }
  | { type: 'error'; id?: number; message: string };
