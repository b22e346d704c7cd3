/**
 * A compute thread of the training process (worker_threads; started by pool.ts): its own
 * tfjs engine on the same backend, a replica of the model's parameters read from the shared
 * parameter buffer whenever the training process has published a new version, its share of
 * each step's gradient written into its own shared gradient buffer, and its slice of the
 * all-reduce and of the AdamW update done in shared memory (slice-math.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../../backend.ts';
import type { ModelConfig } from '../../models/config.ts';
import { ensureGradients } from '../gradients.ts';
import type { Variables } from '../step.ts';
import { NO_CLOCK, PhaseClock, type Clock } from './phases.ts';
import type { FromThread, Job, SentTensor, ToThread } from './protocol.ts';
import { sliceGradient, sliceLoss } from './slice.ts';
import { sharedViews } from './shared-memory.ts';
import { sliceMath, type SliceMath } from './slice-kernels.ts';
import { slices, type DecaySegment } from './slice-math.ts';

interface State {
  config: ModelConfig;
  layout: { name: string; shape: number[]; size: number }[];
  segments: DecaySegment[];
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  grads: Float32Array[];
  /** The all-reduce and update functions on the shared memory (SIMD where it can). */
  math: SliceMath;
  rank: number;
  /** This rank's slice of the layout [lo, hi). */
  slice: [number, number];
  vars: Variables;
  version: number;
  profile: boolean;
}

let state: State | undefined;
const port = parentPort!;
const send = (m: FromThread) => port.postMessage(m);

/** Copies the shared parameters into the replica's variables (when they changed since the last job). */
function loadParams(s: State, version: number): void {
  if (s.version === version) return;
  let at = 0;
  for (const { name, shape, size } of s.layout) {
    const value = tf.tensor(s.params.subarray(at, at + size), shape, 'float32');
    const v = s.vars[name];
    if (v) v.assign(value);
    else s.vars[name] = tf.variable(value, true, `thread/${name}`);
    value.dispose();
    at += size;
  }
  s.version = version;
}

function received(m: Record<string, SentTensor> | undefined): Record<string, tf.Tensor> | undefined {
  if (!m) return undefined;
  const out: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(m)) out[name] = tf.tensor(t.data, t.shape, 'float32');
  return out;
}

function init(m: Extract<ToThread, { type: 'init' }>): State {
  const layout = m.layout.map((l) => ({ ...l, size: l.shape.reduce((a, b) => a * b, 1) }));
  const entries = layout.reduce((a, l) => a + l.size, 0);
  return {
    config: m.config,
    layout,
    segments: m.segments,
    ...sharedViews(m.buffers),
    math: sliceMath(m.buffers, m.rank),
    rank: m.rank,
    slice: slices(entries, m.buffers.grads.length)[m.rank]!,
    vars: {},
    version: -1,
    profile: m.profile,
  };
}

/** Runs a job; resolves with its answer (less id and phases). */
async function run(s: State, m: Job, clock: Clock): Promise<{ lossSum: number; correct?: number; rowLossSums?: number[] }> {
  const [lo, hi] = s.slice;
  switch (m.type) {
    case 'grad': {
      loadParams(s, m.version);
      clock.lap('load');
      const multipliers = received(m.multipliers);
      try {
        const lossSum = await sliceGradient(s.config, s.vars, s.layout, m.chunks, s.grads[s.rank]!, multipliers, { recompute: m.recompute === true });
        clock.lap('compute');
        return { lossSum };
      } finally {
        if (multipliers) tf.dispose(Object.values(multipliers));
      }
    }
    case 'reduce': {
      const squares = s.math.reduce(s.grads[0]!, s.grads.slice(0, m.weights.length), m.weights, lo, hi);
      clock.lap('reduce');
      if (m.update) {
        s.math.adamw(m.update, { params: s.params, m: s.m, v: s.v, g: s.grads[0]! }, s.segments, lo, hi);
        clock.lap('update');
      }
      return { lossSum: squares };
    }
    case 'update':
      s.math.adamw(m.update, { params: s.params, m: s.m, v: s.v, g: s.grads[0]! }, s.segments, lo, hi);
      clock.lap('update');
      return { lossSum: 0 };
    case 'eval': {
      loadParams(s, m.version);
      return sliceLoss(s.config, s.vars, m.chunks);
    }
  }
}

async function handle(m: ToThread): Promise<void> {
  if (m.type === 'init') {
    await initBackend(m.backend);
    await ensureGradients();
    state = init(m);
    send({ type: 'ready' });
    return;
  }
  const s = state;
  if (!s) throw new Error('compute thread: a job arrived before init');
  const clock = s.profile ? new PhaseClock() : NO_CLOCK;
  const r = await run(s, m, clock);
  send({ type: 'done', id: m.id, ...r, ...(s.profile ? { phases: clock.times } : {}) });
}

let queue = Promise.resolve();
port.on('message', (m: ToThread) => {
  // one message at a time, in order
  queue = queue
    .then(() => handle(m))
    .catch((e: unknown) => send({ type: 'error', ...('id' in m ? { id: m.id } : {}), message: e instanceof Error ? e.message : String(e) }));
});
