/**
 * The bench's thread-scaling rows: the product's training step (train/parallel over worker
 * threads, or one thread) at 1, 2, ... up to the cores found, on the bench configs and a
 * larger one (d 256, 8 layers, ctx 256), as tokens/s, the speed-up over 1 thread, and the
 * effective training GFLOP/s (3 x the forward FLOPs of family.ts's flopsPerToken: 6 x the
 * matrix parameters plus attention, per token) against numpy's float32 matmul on every core,
 * measured in the same run as the machine's limit. Steps of all thread counts interleave so
 * each sees the same load; the load averages are recorded with every row.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { join } from 'node:path';
import { flopsPerToken } from '../electron/engine/models/family.ts';
import { AdamW, DEFAULT_ADAMW } from '../electron/engine/train/adamw.ts';
import { initArrays } from '../electron/engine/train/init.ts';
import { startThreads, stepWith } from '../electron/engine/train/parallel/start.ts';
import { availableCores } from '../electron/engine/train/parallel/threads.ts';
import type { ThreadPool } from '../electron/engine/train/parallel/pool.ts';
import { addPhases, threadCpuMs, type PhaseTimes } from '../electron/engine/train/parallel/phases.ts';
import type { Variables } from '../electron/engine/train/step.ts';
import { BENCH_CONFIGS, type BenchConfig } from './configs.ts';

/** The larger CPU config of issue 11. */
export const LARGER_CPU_CONFIG: BenchConfig = {
  name: 'gpt2-d256-l8-ctx256',
  model: { family: 'gpt2', vocabSize: 256, nPositions: 256, nEmbd: 256, nLayer: 8, nHead: 8, nInner: 1024, layerNormEpsilon: 1e-5, activation: 'gelu_new' },
  batch: 8,
  ctx: 256,
  lr: 1e-3,
};

export interface ThreadRow {
  config: string;
  threads: number;
  ok: boolean;
  reason?: string;
  msPerStep?: number;
  /** CPU time of the whole process (every thread) per step, median: less sensitive to other processes' load than wall time. */
  cpuMsPerStep?: number;
  /**
   * A lower bound of ms/step from CPU times: the busiest rank's CPU time per step (mean; threads > 1:
   * the sum of its phases but the wait; 1 thread: the training thread's), or the process's CPU
   * time (V8's compiler and GC threads included) over the cores, whichever is more.
   */
  criticalCpuMs?: number;
  /** The 1-thread row's criticalCpuMs over this row's: the speed-up two idle cores would give (an estimate from CPU times, not a measurement). */
  cpuSpeedup?: number;
  /** CPU ms per step (mean) of each rank by phase (parallel/phases.ts), rank 0 first. */
  phases?: Record<string, number>[];
  tokensPerS?: number;
  /** tokens/s over the 1-thread row of the same config. */
  speedup?: number;
  gflops?: number;
  /** gflops / numpy's best matmul GFLOP/s. */
  ofLimit?: number;
  steps?: number;
  loadavg: number[];
}

export interface MatmulLimit {
  ok: boolean;
  reason?: string;
  numpy?: string;
  n?: number;
  gflopsBest?: number;
  gflopsMedian?: number;
  loadavg: number[];
}

export interface ThreadBench {
  cores: number;
  limit: MatmulLimit[];
  rows: ThreadRow[];
}

const load = () => os.loadavg().map((x) => Number(x.toFixed(2)));

/** numpy's float32 matmul rate on every core (bench/numpy_matmul.py), or why it could not run. */
export function numpyLimit(n = 1024): MatmulLimit {
  const script = join(import.meta.dirname, 'numpy_matmul.py');
  const tried: string[] = [];
  for (const py of [process.env['SCION_BENCH_PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(py, [script, String(n)], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) {
      const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { numpy: string; n: number; gflops_best: number; gflops_median: number };
      return { ok: true, numpy: j.numpy, n: j.n, gflopsBest: j.gflops_best, gflopsMedian: j.gflops_median, loadavg: load() };
    }
    tried.push(`${py}: ${(r.error?.message ?? r.stderr ?? '').trim().split('\n').pop()}`);
  }
  return { ok: false, reason: `no python3 with numpy (${tried.join('; ')})`, loadavg: load() };
}

interface Rig {
  threads: number;
  vars: Variables;
  opt: AdamW;
  pool: ThreadPool | undefined;
  times: number[];
  cpu: number[];
  /** The training thread's CPU ms per step. */
  ownCpu: number[];
  /** Phase times summed over the timed steps, by rank. */
  phases: PhaseTimes[];
  error?: string;
}

/** Random token windows laid out as bench/train-step.ts's randomBatch: window b at b * (ctx + 1). */
function tokens(vocab: number, batch: number, ctx: number): { ids: Uint32Array; starts: number[][] } {
  let s = 1;
  const ids = Uint32Array.from({ length: batch * (ctx + 1) }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % vocab);
  return { ids, starts: [Array.from({ length: batch }, (_, b) => b * (ctx + 1))] };
}

async function makeRig(bc: BenchConfig, threads: number, tag: string): Promise<Rig> {
  const vars: Variables = {};
  for (const [name, { shape, data }] of initArrays(bc.model, 0)) vars[name] = tf.variable(tf.tensor(data, shape, 'float32'), true, `${tag}/${name}`);
  const opt = new AdamW(vars, { ...DEFAULT_ADAMW, weightDecay: 0 });
  const rig: Rig = { threads, vars, opt, pool: undefined, times: [], cpu: [], ownCpu: [], phases: [] };
  try {
    const started = await startThreads(threads, bc.model, vars, bc.batch, { profile: true });
    rig.pool = started.pool;
    if (started.threads !== threads) rig.error = `could not use ${threads} threads: ${started.pool ? '' : started.why}`;
  } catch (e) {
    rig.error = (e as Error).message.split('\n')[0];
  }
  return rig;
}

/**
 * Warm-up steps before timing: at least 2, then up to WARMUP_MAX_STEPS while the warm-up has used
 * less than WARMUP_CPU_MS of process CPU. V8 keeps recompiling tfjs's code for the first tens of
 * steps (TurboFan after deopts, on its helper threads): at gpt2-d128-l4 those threads took about
 * 45 ms of CPU per step over steps 1-10 and 3-9 ms per step from step 11 to 60, which inflated the
 * process CPU and so the 2-thread rows' critical CPU. Since the tiled matrix product made a step
 * ~1.5x shorter, 20 steps no longer reached the steady state: at llama-d128-l4 on 2 threads, steps
 * 10-30 took 55-59 ms and steps 30-80 50-54 ms (helper threads 13 -> 5-9 ms per step); after 50
 * steps a 2-thread step took 50-52 ms at both d128 configs. A training run is thousands of steps,
 * so the rows measure that steady state: up to 80 warm-up steps or 15 s of CPU (~75 steps of the
 * d128 configs, ~15 s of the run per config). Large configs stop after 2 steps.
 */
const WARMUP_MAX_STEPS = 80;
const WARMUP_CPU_MS = 15000;

/**
 * Timed steps per thread count: at least this many while the budget lasts. A step at the bench
 * configs takes ~0.1 s and single steps vary by +-15% on a shared 2-core machine (a GC or a
 * recompile on one core), so the median of the run's 8 steps moved the 2-thread ratio by
 * +-0.1 between identical runs; 30 steps cost ~7 s per config.
 */
const MIN_TIMED_STEPS = 30;

/**
 * Timed steps run in blocks of this many per thread count, the blocks of the thread counts
 * interleaved so each count still sees the same load. Single steps interleaved measured each
 * 2-thread step right after a 1-thread step of another model on the same main thread, with its
 * compute thread idle meanwhile: llama-d128-l4 on 2 threads took 53-56 ms a step that way against
 * 50 ms in a plain run of 2-thread steps (a training run never interleaves).
 */
const TIMED_BLOCK = 10;

/** Median ms/step at each thread count for one config, after the warm-up, steps interleaved across thread counts. */
async function measureConfig(bc: BenchConfig, counts: number[], steps: number, budgetMs: number, limit: number | undefined): Promise<ThreadRow[]> {
  const { ids, starts } = tokens(bc.model.vocabSize, bc.batch, bc.ctx);
  const rigs: Rig[] = [];
  for (const t of counts) rigs.push(await makeRig(bc, t, `bench/threads${t}/${bc.name}`));
  const step = async (r: Rig, timed: boolean) => {
    if (r.error) return;
    try {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const own0 = threadCpuMs();
      await stepWith(r.pool, { cfg: bc.model, vars: r.vars, optimizer: r.opt, starts, ids, ctx: bc.ctx, lr: bc.lr, clip: 0 });
      const c = process.cpuUsage(c0);
      if (!timed) return;
      r.times.push(performance.now() - t0);
      r.cpu.push((c.user + c.system) / 1000);
      r.ownCpu.push(threadCpuMs() - own0);
      if (r.pool) r.phases = r.pool.lastPhases.map((p, rank) => addPhases(r.phases[rank] ?? {}, p));
    } catch (e) {
      r.error = (e as Error).message.split('\n')[0];
    }
  };
  const warm0 = process.cpuUsage();
  const warmCpuMs = () => {
    const c = process.cpuUsage(warm0);
    return (c.user + c.system) / 1000;
  };
  for (let i = 0; i < WARMUP_MAX_STEPS && (i < 2 || warmCpuMs() < WARMUP_CPU_MS); i++) for (const r of rigs) await step(r, false);
  // timed steps in blocks per thread count, the blocks interleaved (see TIMED_BLOCK)
  const start = performance.now();
  for (let i = 0; i < steps && (i < 2 || performance.now() - start < budgetMs); i += TIMED_BLOCK)
    for (const r of rigs) for (let b = 0; b < Math.min(TIMED_BLOCK, steps - i); b++) await step(r, true);
  const flopsPerStep = 3 * flopsPerToken(bc.model, bc.ctx) * bc.batch * bc.ctx;
  const rows: ThreadRow[] = [];
  for (const r of rigs) {
    await r.pool?.close();
    r.opt.dispose();
    tf.dispose(Object.values(r.vars));
    if (r.error) {
      rows.push({ config: bc.name, threads: r.threads, ok: false, reason: r.error, loadavg: load() });
      continue;
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ms = median(r.times);
    const gflops = flopsPerStep / ms / 1e6;
    const steps = r.times.length;
    const phases = r.phases.map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.cpu / steps])));
    const work = phases.map((p) => Object.entries(p).reduce((a, [k, v]) => (k === 'wait' ? a : a + v), 0));
    // the busiest rank's work, or the process's CPU time (V8's compiler and GC threads too) spread over every core if that is more
    const busiest = r.pool ? Math.max(...work) : r.ownCpu.reduce((a, b) => a + b, 0) / steps;
    const critical = Math.max(busiest, median(r.cpu) / availableCores());
    rows.push({
      config: bc.name,
      threads: r.threads,
      ok: true,
      msPerStep: ms,
      cpuMsPerStep: median(r.cpu),
      ...(Number.isFinite(critical) ? { criticalCpuMs: critical } : {}),
      ...(phases.length ? { phases } : {}),
      tokensPerS: (bc.batch * bc.ctx * 1000) / ms,
      gflops,
      ...(limit ? { ofLimit: gflops / limit } : {}),
      steps: r.times.length,
      loadavg: load(),
    });
  }
  const one = rows.find((x) => x.threads === 1 && x.ok);
  for (const x of rows) if (x.ok && one) x.speedup = x.tokensPerS! / one.tokensPerS!;
  for (const x of rows) if (x.ok && one?.criticalCpuMs && x.criticalCpuMs) x.cpuSpeedup = one.criticalCpuMs / x.criticalCpuMs;
  return rows;
}

/** Thread scaling of the training step on the active backend (wasm or cpu), with numpy's matmul limit measured before and after. */
export async function benchThreads(opts: { steps: number; budgetMs: number; configs?: BenchConfig[]; log?: (s: string) => void }): Promise<ThreadBench> {
  const cores = availableCores();
  const counts = Array.from({ length: cores }, (_, i) => i + 1);
  const limit = [numpyLimit()];
  const best = limit[0]!.gflopsBest;
  opts.log?.(`bench: numpy matmul limit: ${limit[0]!.ok ? `${best!.toFixed(1)} GFLOP/s` : limit[0]!.reason} (load ${load().join(', ')})`);
  const rows: ThreadRow[] = [];
  for (const bc of opts.configs ?? [...BENCH_CONFIGS, LARGER_CPU_CONFIG]) {
    const cfg = bc === LARGER_CPU_CONFIG && cores > 8 ? { ...bc, batch: 8 * Math.ceil(cores / 8) } : bc;
    for (const r of await measureConfig(cfg, counts, Math.max(opts.steps, MIN_TIMED_STEPS), opts.budgetMs, best)) {
      rows.push(r);
      opts.log?.(
        `bench: threads ${bc.name} x${r.threads}: ${r.ok ? `${r.msPerStep!.toFixed(1)} ms/step, ${r.tokensPerS!.toFixed(0)} tokens/s, ${r.gflops!.toFixed(1)} GFLOP/s, x${r.speedup?.toFixed(2) ?? '-'}` : `failed: ${r.reason}`} (load ${r.loadavg.join(', ')})`,
      );
    }
  }
  limit.push(numpyLimit());
  return { cores, limit, rows };
}

/** The thread-scaling table of the report. */
export function formatThreads(t: ThreadBench): string {
  const lim = t.limit.filter((l) => l.ok);
  const best = lim.length ? Math.max(...lim.map((l) => l.gflopsBest!)) : undefined;
  const head = lim.length
    ? `machine's matmul limit: numpy ${lim[0]!.numpy} float32 ${lim[0]!.n}^2 on ${t.cores} cores: ${lim.map((l) => `${l.gflopsBest!.toFixed(1)} GFLOP/s best / ${l.gflopsMedian!.toFixed(1)} median (load ${l.loadavg.join(', ')})`).join('; then ')}`
    : `machine's matmul limit: not measured (${t.limit[0]?.reason ?? 'numpy not run'})`;
  const rows = [
    [
      'config',
      'threads',
      'ms/step',
      'cpu ms/step',
      'critical cpu ms',
      'tokens/s',
      'x 1 thread',
      'x 1 (cpu est.)',
      'GFLOP/s',
      '% of limit',
      'load avg (1, 5, 15 min)',
    ],
  ];
  for (const r of t.rows)
    rows.push(
      r.ok
        ? [
            r.config,
            String(r.threads),
            r.msPerStep!.toFixed(1),
            r.cpuMsPerStep!.toFixed(1),
            r.criticalCpuMs?.toFixed(1) ?? '-',
            r.tokensPerS!.toFixed(0),
            r.speedup?.toFixed(2) ?? '-',
            r.cpuSpeedup?.toFixed(2) ?? '-',
            r.gflops!.toFixed(1),
            best ? `${((100 * r.gflops!) / best).toFixed(0)}%` : '-',
            r.loadavg.join(', '),
          ]
        : [r.config, String(r.threads), 'failed', r.reason ?? '', '', '', '', '', '', '', r.loadavg.join(', ')],
    );
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const table = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
  const phaseLines = t.rows
    .filter((r) => r.ok && r.phases)
    .map(
      (r) =>
        `${r.config} x${r.threads}: ` +
        r
          .phases!.map(
            (p, rank) =>
              `rank ${rank} ${Object.entries(p)
                .map(([k, v]) => `${k} ${v.toFixed(1)}`)
                .join(', ')}`,
          )
          .join('; '),
    );
  return [
    '',
    `thread scaling (training step on worker threads, data parallel; GFLOP/s = 3 x forward FLOPs/token x tokens / time; cpu ms = the process's CPU time, all threads;`,
    `critical cpu ms = the busiest rank's CPU time per step (1 thread: the training thread's) or the process's CPU time over the cores, whichever is more; x 1 (cpu est.) = the 1-thread row's over this row's:`,
    `the speed-up on idle cores if the threads' CPU times hold: an estimate from CPU times that other processes' load hardly moves, not a measurement)`,
    head,
    table,
    ...(phaseLines.length
      ? [
          'CPU ms per step by phase and rank (publish: parameters and moments into shared memory; compute: forward + backward of its rows, gradient into shared memory; wait: rank 0 idle until the others finish; reduce/update: its slice of the all-reduce and of AdamW; load: parameters from shared memory into its variables)',
          ...phaseLines,
        ]
      : []),
  ].join('\n');
}
