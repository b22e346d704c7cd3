/**
 * Messages between the training process and its compute threads (pool.ts, thread.ts). Bulk
 * data never travels in messages: the parameters, the AdamW moments and every rank's gradient
 * live in SharedArrayBuffers (layout in pool.ts); messages carry token ids and small numbers.
 */
import type { ModelConfig } from '../../models/config.ts';
import type { PhaseTimes } from './phases.ts';
import type { SharedBuffers } from './shared-memory.ts';
import type { AdamWSlice, DecaySegment } from './slice-math.ts';

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
      rank: number;
      backend: string;
      config: ModelConfig;
      /** Parameter names and shapes, in the flat layout's order. */
      layout: { name: string; shape: number[] }[];
      segments: DecaySegment[];
      buffers: SharedBuffers;
      /** Record phase times (phases.ts) and send them with each answer. */
      profile: boolean;
    }
  /** Gradient of the mean loss over `chunks` (each at most one micro-batch) into this rank's gradient buffer. */
  | { type: 'grad'; id: number; version: number; chunks: Rows[]; multipliers?: Record<string, SentTensor>; recompute?: boolean }
  /**
   * This rank's slice of the all-reduce (sum_k weights[k] grads[k] into grads[0]); answers its
   * sum of squares. With `update`, then the AdamW update of the slice (no clipping to wait for).
   */
  | { type: 'reduce'; id: number; weights: number[]; update?: AdamWSlice }
  /** The AdamW update of this rank's slice from the reduced gradient. */
  | { type: 'update'; id: number; update: AdamWSlice }
  /** Summed loss and top-1 hits over `chunks` (evaluation). */
  | { type: 'eval'; id: number; version: number; chunks: Rows[] };

export type Job = Exclude<ToThread, { type: 'init' }>;

export type FromThread =
  | { type: 'ready' }
  /**
   * `lossSum`: for 'grad' the sum over chunks of rows x mean loss, for 'eval' the summed loss
   * (with `correct` and the per-window sums), for 'reduce' the slice's sum of squares.
   */
  | { type: 'done'; id: number; lossSum: number; correct?: number; rowLossSums?: number[]; phases?: PhaseTimes }
  | { type: 'error'; id?: number; message: string };
