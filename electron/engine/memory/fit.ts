/**
 * The memory plan before any work starts: what a training run, an evaluation or a growth
 * check needs (estimate.ts) against what the backend can hold, refused before anything is
 * written or allocated, with the largest batch / ctx that fits and a backend that would hold
 * it. Never an emscripten abort halfway through.
 *
 * Capacities: wasm, its 4 GiB heap (32-bit addresses) less a fifth for the module and the
 * allocator's fragmentation (at 124M parameters the heap grew to 1.22x the live tensors' peak); WebGPU, the adapter's largest buffer
 * per tensor and this machine's memory in all (an adapter does not report its memory);
 * cpu and the native TensorFlow backends, this machine's memory less a fifth for Node,
 * the dataset and the OS.
 */
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { currentBackend } from '../backend.ts';
import { ScionError } from '../errors.ts';
import { type ModelConfig, familyName } from '../models/config.ts';
import {
  type MemoryEstimate,
  type Shape,
  evalEstimate,
  formatBytes,
  formatParameters,
  shapeOf,
  shapeParameters,
  threadedTrainEstimate,
  trainEstimate,
} from './estimate.ts';

const WASM_HEAP = 2 ** 32;

export interface Capacity {
  backend: string;
  /** Bytes the backend can hold in all. */
  bytes: number;
  /** The largest single tensor in bytes, where the backend has such a limit. */
  maxTensor?: number;
  /** Where the limit comes from, for messages. */
  what: string;
}

/** This machine's memory in bytes (SCION_MACHINE_MEMORY overrides it, for tests). */
export function machineMemory(): number {
  const env = Number(process.env['SCION_MACHINE_MEMORY']);
  return Number.isFinite(env) && env > 0 ? env : os.totalmem();
}

function webgpuMaxBuffer(): number | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const limits = (tf.backend() as unknown as { device?: { limits?: { maxBufferSize?: number; maxStorageBufferBindingSize?: number } } }).device?.limits;
  const sizes = [limits?.maxBufferSize, limits?.maxStorageBufferBindingSize].filter((x): x is number => typeof x === 'number' && x > 0);
  return sizes.length ? Math.min(...sizes) : undefined;
}

/** What `backend` (a Scion or tfjs backend name) can hold. */
export function backendCapacity(backend: string): Capacity {
  const machine = machineMemory();
  if (backend === 'wasm') return { backend, bytes: 0.8 * WASM_HEAP, maxTensor: WASM_HEAP / 2, what: "the wasm backend's 4 GB heap" };
  if (backend === 'webgpu') {
    const maxTensor = webgpuMaxBuffer();
    return {
      backend,
      bytes: 0.8 * machine,
      ...(maxTensor ? { maxTensor } : {}),
      what: `WebGPU (this machine's ${formatBytes(machine)}${maxTensor ? `, buffers up to ${formatBytes(maxTensor)}` : ''})`,
    };
  }
  return { backend, bytes: 0.8 * machine, what: `this machine's ${formatBytes(machine)} of memory` };
}

/** The largest single tensor of a shape's work: the token embedding, or the logits of a batch. */
function largestTensor(s: Shape, batch: number, ctx: number): number {
  return 4 * Math.max(s.vocab * s.hidden, s.hidden * s.ffn, batch * ctx * s.vocab);
}

function fits(e: MemoryEstimate, s: Shape, batch: number, ctx: number, cap: Capacity): boolean {
  return e.total <= cap.bytes && (cap.maxTensor === undefined || largestTensor(s, batch, ctx) <= cap.maxTensor);
}

export function breakdown(e: MemoryEstimate): string {
  const parts = [`weights ${formatBytes(e.weights)}`];
  if (e.gradients) parts.push(`gradients ${formatBytes(e.gradients)}`);
  if (e.optimizer) parts.push(`AdamW moments ${formatBytes(e.optimizer)}`);
  parts.push(`activations and backward pass ${formatBytes(e.activations)}`);
  return parts.join(', ');
}

/** The largest n in [1, max] with ok(n), or 0 (ok is monotone: true up to some n). */
function largest(max: number, ok: (n: number) => boolean): number {
  if (!ok(1)) return 0;
  let lo = 1;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

type Work = 'train' | 'eval';

/** How a training run computes: `recompute` (train/recompute.ts), and the CPU threads it may use with its accumulation (train/parallel/). */
export interface TrainPlanOptions {
  recompute?: boolean;
  /** Threads asked for (--threads, SCION_THREADS or every core); the plan may use fewer. */
  threads?: number;
  gradAccum?: number;
}

function estimate(work: Work, family: ModelConfig['family'], s: Shape, batch: number, ctx: number, recompute = false): MemoryEstimate {
  return work === 'train' ? trainEstimate(family, s, batch, ctx, recompute) : evalEstimate(family, s, batch, ctx);
}

/** The largest batch / ctx of the work that `cap` holds, as CLI options ('' when none does). */
function whatFits(work: Work, family: ModelConfig['family'], s: Shape, batch: number, ctx: number, cap: Capacity, recompute = false): string {
  const ok = (b: number, c: number) => fits(estimate(work, family, s, b, c, recompute), s, b, c, cap);
  const bAt = largest(batch, (b) => ok(b, ctx));
  const cAt = largest(ctx, (c) => ok(batch, c));
  const c1 = largest(ctx, (c) => ok(1, c));
  const options: string[] = [];
  if (bAt > 0) options.push(`--batch ${bAt} at --ctx ${ctx}`);
  if (cAt > 0) options.push(`--ctx ${cAt} at --batch ${batch}`);
  if (batch > 1 && c1 > cAt) options.push(`--batch 1 --ctx ${c1}`);
  const accum = work === 'train' && bAt > 0 && bAt < batch ? ` (with --grad-accum ${Math.ceil(batch / bAt)} to keep ${batch} windows a step)` : '';
  return options.length ? `${options.join(' or ')}${accum}` : '';
}

/** Where else the work would run: the machine's memory (the native and cpu backends; WebGPU shares it on integrated GPUs). */
function otherBackend(work: Work, family: ModelConfig['family'], s: Shape, batch: number, ctx: number, backend: string, recompute = false): string {
  const machine = backendCapacity('cpu');
  if (backend !== 'wasm' && backend !== 'webgpu') return `no other backend on this machine holds more (${machine.what})`;
  const e = estimate(work, family, s, batch, ctx, recompute);
  const backends = '--backend tensorflow (or tensorflow-gpu) where installed, webgpu on a GPU with the memory, or cpu (slow)';
  if (fits(e, s, batch, ctx, machine)) return `it fits ${machine.what}: use ${backends}`;
  const there = whatFits(work, family, s, batch, ctx, machine, recompute);
  return there ? `with ${backends}, ${machine.what} holds ${there}` : `it does not fit ${machine.what} at any batch or ctx either`;
}

export interface FitCheck {
  ok: boolean;
  /** The estimate of the training process (rank 0 with threads). */
  estimate: MemoryEstimate;
  capacity: Capacity;
  /** Why not, with what would fit; absent when ok. */
  message?: string;
  /** Training: the CPU threads the plan holds (1 when only one fits or one was asked for). */
  threads: number;
  /** Training: why fewer threads than asked for. */
  note?: string;
}

/** The ranks data-parallel training would use (parallel/start.ts startThreads: the single-core backends, at most one per row). */
function ranksFor(backend: string, threads: number, rows: number): number {
  return backend === 'wasm' || backend === 'cpu' ? Math.max(1, Math.min(threads, rows)) : 1;
}

/**
 * The most threads (>= 2, at most `ranks`) whose replicas fit: on wasm each thread's own heap
 * and this machine's memory for all of them, elsewhere the machine's memory; 0 when none.
 */
function threadsThatFit(cfg: ModelConfig, s: Shape, batch: number, ctx: number, rows: number, ranks: number, backend: string, recompute: boolean): number {
  const cap = backendCapacity(backend);
  const machine = backendCapacity('cpu').bytes;
  for (let n = ranks; n >= 2; n--) {
    const share = Math.ceil(rows / n); // rows of the largest rank, in pieces of at most one micro-batch
    const piece = Math.min(batch, share);
    const t = threadedTrainEstimate(cfg.family, s, piece, ctx, n, Math.ceil(share / piece), recompute);
    const heaps = backend === 'wasm' ? t.rank0.total <= cap.bytes && t.replica <= cap.bytes : true;
    if (heaps && t.total <= machine && fits(t.rank0, s, piece, ctx, cap)) return n;
  }
  return 0;
}

/**
 * Whether `work` (training or evaluation) of `cfg` at batch x ctx fits `backend`, and the
 * message when not. Training with `o.threads` > 1 on the single-core backends: each compute
 * thread holds a replica of the model (estimate.ts threadedTrainEstimate); the plan keeps the
 * most threads that fit and says why when that is fewer than asked.
 */
export function planWork(work: Work, cfg: ModelConfig, batch: number, ctx: number, backend: string, o: TrainPlanOptions = {}): FitCheck {
  const s = shapeOf(cfg);
  const cap = backendCapacity(backend);
  const recompute = work === 'train' && o.recompute === true;
  const e = estimate(work, cfg.family, s, batch, ctx, recompute);
  const rows = batch * (o.gradAccum ?? 1);
  const ranks = work === 'train' ? ranksFor(backend, o.threads ?? 1, rows) : 1;
  if (ranks > 1) {
    const n = threadsThatFit(cfg, s, batch, ctx, rows, ranks, backend, recompute);
    if (n > 0) {
      const t = threadedTrainEstimate(cfg.family, s, Math.min(batch, Math.ceil(rows / n)), ctx, n, 1, recompute);
      const note = n < ranks ? `${n} threads, not ${ranks}: each compute thread holds a replica of the model, and ${ranks} do not fit` : undefined;
      return { ok: true, estimate: t.rank0, capacity: cap, threads: n, ...(note ? { note } : {}) };
    }
  }
  if (fits(e, s, batch, ctx, cap)) {
    const note = ranks > 1 ? `1 thread, not ${ranks}: each compute thread holds a replica of the model, and two do not fit` : undefined;
    return { ok: true, estimate: e, capacity: cap, threads: 1, ...(note ? { note } : {}) };
  }
  const verb = work === 'train' ? 'training' : 'evaluating';
  const head = `${verb} this ${formatParameters(e.parameters)}-parameter ${familyName(cfg.family)} at batch ${batch}, ctx ${ctx}${recompute ? ' with --recompute' : ''} needs about ${formatBytes(e.total)} (${breakdown(e)}); ${cap.what} holds about ${formatBytes(cap.bytes)}`;
  const here = whatFits(work, cfg.family, s, batch, ctx, cap, recompute);
  const weightsTensor = 4 * Math.max(s.vocab * s.hidden, s.hidden * s.ffn);
  const what = here
    ? `on ${backend} the largest that fits is ${here}`
    : cap.maxTensor !== undefined && weightsTensor > cap.maxTensor
      ? `on ${backend} no batch or ctx fits: its largest weight (${formatBytes(weightsTensor)}) is bigger than the largest buffer this adapter allows (${formatBytes(cap.maxTensor)})`
      : `on ${backend} no batch or ctx fits (the model alone needs ${formatBytes(e.total - e.activations)})`;
  const withRecompute = work === 'train' && !recompute ? trainEstimate(cfg.family, s, batch, ctx, true) : undefined;
  const hint =
    withRecompute && fits(withRecompute, s, batch, ctx, cap)
      ? `; with --recompute (each block's activations recomputed in the backward pass, about a third more compute) it needs about ${formatBytes(withRecompute.total)} and fits`
      : '';
  return {
    ok: false,
    estimate: e,
    capacity: cap,
    threads: 1,
    message: `${head}${hint}: ${what}; ${otherBackend(work, cfg.family, s, batch, ctx, backend, recompute)}`,
  };
}

/** Refuses (ScionError E_MEMORY) work that does not fit; see planWork. Returns the plan (its estimate, its threads). */
export function requireFits(work: Work, cfg: ModelConfig, batch: number, ctx: number, backend: string, file?: string, o: TrainPlanOptions = {}): FitCheck {
  const r = planWork(work, cfg, batch, ctx, backend, o);
  if (!r.ok) throw new ScionError(r.message!, 'E_MEMORY', file);
  return r;
}

/**
 * A model shape that cannot exist here: float32 weights beyond this machine's memory (Scion
 * loads a whole model to check, evaluate or train it). Arithmetic only: call it before any
 * plan, map or tensor is built.
 */
export function requireShapeCanExist(family: ModelConfig['family'], s: Shape, what: string): void {
  if (![s.hidden, s.ffn, s.layers, s.vocab].every((v) => Number.isFinite(v) && v > 0)) return; // the planner names bad values
  const params = shapeParameters(family, s);
  const bytes = 4 * params;
  const machine = machineMemory();
  if (bytes > machine)
    throw new ScionError(
      `${what} would have about ${formatParameters(params)} parameters (hidden ${s.hidden}, ffn ${s.ffn}, ${s.layers} layers, vocab ${s.vocab}): ${formatBytes(bytes)} of float32 weights, more than this machine's ${formatBytes(machine)} of memory; Scion could not check, evaluate or train it`,
      'E_MEMORY',
    );
}

/**
 * The function-preservation check after growth holds both models on the backend and runs one
 * window of `length` tokens through each. Refuses (before anything is grown) when that does
 * not fit, naming a backend that would hold it.
 */
export function growthCheckBytes(source: ModelConfig, target: ModelConfig, length: number): { total: number; a: MemoryEstimate; b: MemoryEstimate } {
  const a = evalEstimate(source.family, shapeOf(source), 1, length);
  const b = evalEstimate(target.family, shapeOf(target), 1, length);
  // x1.5 on the grown model's activations: the 124M -> 355M GPT-2 check at the estimate's own
  // limit (256 tokens, 3.4 GB) ran out of wasm heap (the source's freed buffers fragment it)
  return { total: a.weights + b.weights + 1.5 * b.activations, a, b };
}

/** The longest check window, at most `length` and at least 32 tokens, that `backend` holds; 0 when none. */
export function growthCheckLength(source: ModelConfig, target: ModelConfig, length: number, backend: string): number {
  const cap = backendCapacity(backend).bytes;
  const n = largest(length, (l) => growthCheckBytes(source, target, l).total <= cap);
  return n >= Math.min(32, length) ? n : 0;
}

export function requireGrowthCheckFits(source: ModelConfig, target: ModelConfig, length: number, backend: string): void {
  const { total, a, b } = growthCheckBytes(source, target, length);
  const cap = backendCapacity(backend);
  if (total <= cap.bytes) return;
  const machine = backendCapacity('cpu');
  const where =
    backend === 'wasm' || backend === 'webgpu'
      ? total <= machine.bytes
        ? `run the grow with --backend tensorflow (or tensorflow-gpu) where installed, or --backend cpu (slow): ${machine.what} holds it`
        : `no backend on this machine holds it (${machine.what})`
      : `no backend on this machine holds it (${machine.what})`;
  throw new ScionError(
    `the function-preservation check after growth holds the source (${formatParameters(a.parameters)} parameters, ${formatBytes(a.weights)}) and the grown model (${formatParameters(b.parameters)}, ${formatBytes(b.weights)}) at once, about ${formatBytes(total)} with one ${length}-token window; ${cap.what} holds about ${formatBytes(cap.bytes)}: nothing was grown; ${where}`,
    'E_MEMORY',
  );
}

/** The backend in use (Scion's name, or tfjs's when Scion did not start it). */
export function activeBackend(): string {
  return currentBackend()?.name ?? tf.getBackend();
}
