/**
 * A compute thread of the training process (worker_threads; started by pool.ts): its own
 * tfjs engine on the same backend, a replica of the model's parameters read from the shared
 * parameter buffer whenever the training process has written a new version, and its share
 * of each step's gradient written into its own shared gradient buffer.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parentPort } from 'node:worker_threads';
import { initBackend } from '../../backend.ts';
import type { ModelConfig } from '../../models/config.ts';
import { ensureGradients } from '../gradients.ts';
import type { Variables } from '../step.ts';
import type { FromThread, SentTensor, ToThread } from './protocol.ts';
import { sliceGradient, sliceLoss } from './slice.ts';

interface State {
  config: ModelConfig;
  layout: { name: string; shape: number[] }[];
  names: string[];
  params: Float32Array;
  grad: Float32Array;
  vars: Variables;
  version: number;
}

let state: State | undefined;
const port = parentPort!;
const send = (m: FromThread) => port.postMessage(m);

/** Copies the shared parameters into the replica's variables (when they changed since the last job). */
function loadParams(s: State, version: number): void {
  if (s.version === version) return;
  let at = 0;
  for (const { name, shape } of s.layout) {
    const size = shape.reduce((a, b) => a * b, 1);
    const value = tf.tensor(s.params.subarray(at, at + size), shape, 'float32');
    const v = s.vars[name];
    if (v) {
      v.assign(value);
      value.dispose();
    } else {
      s.vars[name] = tf.variable(value, true, `thread/${name}`);
      value.dispose();
    }
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

async function handle(m: ToThread): Promise<void> {
  if (m.type === 'init') {
    await initBackend(m.backend);
    await ensureGradients();
    state = {
      config: m.config,
      layout: m.layout,
      names: m.layout.map((l) => l.name),
      params: new Float32Array(m.params),
      grad: new Float32Array(m.grad),
      vars: {},
      version: -1,
    };
    send({ type: 'ready' });
    return;
  }
  const s = state;
  if (!s) throw new Error('compute thread: a job arrived before init');
  loadParams(s, m.version);
  if (m.type === 'grad') {
    const multipliers = received(m.multipliers);
    try {
      const { flat, lossSum } = await sliceGradient(s.config, s.vars, s.names, m.chunks, multipliers, { recompute: m.recompute === true });
      try {
        s.grad.set(await flat.data());
      } finally {
        flat.dispose();
      }
      send({ type: 'done', id: m.id, lossSum });
    } finally {
      if (multipliers) tf.dispose(Object.values(multipliers));
    }
  } else {
    const r = await sliceLoss(s.config, s.vars, m.chunks);
    send({ type: 'done', id: m.id, lossSum: r.lossSum, correct: r.correct, rowLossSums: r.rowLossSums });
  }
}

let queue = Promise.resolve();
port.on('message', (m: ToThread) => {
  // one message at a time, in order
  queue = queue
    .then(() => handle(m))
    .catch((e: unknown) => send({ type: 'error', ...('id' in m ? { id: m.id } : {}), message: e instanceof Error ? e.message : String(e) }));
});
