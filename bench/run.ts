/**
 * `npm run bench`: training throughput of the fixed GPT-2 and Llama bench configs on every
 * tfjs backend found, before (the forward code of commit 8b5a60f, the per-parameter AdamW) and after the speed work,
 * PyTorch on the same configs where a python3 with torch exists, the ratios, and a per-op
 * profile of one step. Prints one table and writes bench-results/bench-<time>.json.
 *
 * Flags: --backends wasm,cpu,... (default: every one that starts), --steps N (timed steps,
 * default 8), --budget-s S (time cap per measurement, default 20), --no-torch,
 * --no-baseline, --no-profile, --torch-device cpu|cuda, --growth (also the growth
 * benchmark), --configs a,b (by name, from configs.ts; default the two bench configs),
 * --out FILE, --json (the result object on stdout, the table on stderr), --no-threads (skip the
 * thread-scaling rows of bench/threads.ts), --threads-only (only those rows), --no-larger (those rows
 * without the larger config gpt2-d256-l8-ctx256). SCION_PEROP=0 times the step without issue 11's
 * per-op savings (kernels/per-op.ts), for a before/after pair of runs; SCION_SLICE_SIMD=0 times the
 * threaded step with its all-reduce and AdamW slices in JavaScript instead of WebAssembly SIMD;
 * SCION_GEMM=0 runs the wasm matrix products in XNNPACK (rank 2) and bmm16 (batched) instead of
 * kernels/gemm-simd.ts, SCION_FMA=0 runs that kernel with two roundings instead of relaxed SIMD's
 * multiply-add.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BACKEND_NAMES, initBackend, type BackendName } from '../electron/engine/backend.ts';
import { atomicWriteJson } from '../electron/engine/io/atomic.ts';
import { installWasmKernels, uninstallWasmKernels } from '../electron/engine/kernels/wasm-kernels.ts';
import { ensureGradients } from '../electron/engine/train/gradients.ts';
import { ALL_CONFIGS, BENCH_CONFIGS, type BenchConfig } from './configs.ts';
import { profileStep, type StepProfile } from './profile.ts';
import { benchGrowth } from './growth.ts';
import { formatReport } from './report.ts';
import { runTorch, type TorchResult } from './torch.ts';
import { makeRig, type StepKind } from './train-step.ts';
import { benchThreads, LARGER_CPU_CONFIG, type ThreadBench } from './threads.ts';
import { benchWebgpu, type WebgpuBench } from './webgpu.ts';

export interface Measurement {
  backend: BackendName;
  config: string;
  code: StepKind;
  ok: boolean;
  reason?: string;
  msPerStep?: number;
  tokensPerS?: number;
  steps?: number;
  loss?: number;
  /** Peak tensor bytes of one step (tf.profile: weights, moments, gradients, activations), per parameter and in all. */
  bytesPerParam?: number;
  peakBytes?: number;
  /** The process's peak resident memory so far, MB. */
  maxRssMB?: number;
}

export interface BenchResult {
  date: string;
  machine: { cpus: number; model: string; platform: string; loadavg: number[] };
  versions: Record<string, string>;
  configs: BenchConfig[];
  backends: { name: BackendName; ok: boolean; reason?: string }[];
  measurements: Measurement[];
  profiles: { backend: BackendName; config: string; code: StepKind; profile: StepProfile }[];
  /** PyTorch runs: on a CPU with 1 thread and with every core (the ratios use the faster). */
  torch: TorchResult[];
  growth?: unknown;
  /** Thread scaling of the training step on wasm (bench/threads.ts). */
  threads?: ThreadBench;
  /** webgpu: Scion's WGSL kernels off and on, with dispatch counts (bench/webgpu.ts). */
  webgpu?: WebgpuBench;
}

interface Args {
  backends: BackendName[] | undefined;
  steps: number;
  budgetMs: number;
  torch: boolean;
  baseline: boolean;
  profile: boolean;
  torchDevice: string;
  growth: boolean;
  out: string | undefined;
  json: boolean;
  configs: BenchConfig[];
  threads: 'on' | 'off' | 'only';
  /** The thread rows include LARGER_CPU_CONFIG (--no-larger: not). */
  larger: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    backends: undefined,
    steps: 8,
    budgetMs: 20_000,
    torch: true,
    baseline: true,
    profile: true,
    torchDevice: 'cpu',
    growth: false,
    out: undefined,
    json: false,
    configs: BENCH_CONFIGS,
    threads: 'on',
    larger: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${f} needs a value`);
      return v;
    };
    if (f === '--backends') {
      const names = val().split(',');
      for (const n of names)
        if (!(BACKEND_NAMES as readonly string[]).includes(n)) throw new Error(`--backends: unknown backend '${n}' (one of ${BACKEND_NAMES.join(', ')})`);
      a.backends = names as BackendName[];
    } else if (f === '--steps') a.steps = Math.max(1, Number.parseInt(val(), 10));
    else if (f === '--budget-s') a.budgetMs = Number(val()) * 1000;
    else if (f === '--no-torch') a.torch = false;
    else if (f === '--no-baseline') a.baseline = false;
    else if (f === '--no-profile') a.profile = false;
    else if (f === '--torch-device') a.torchDevice = val();
    else if (f === '--growth') a.growth = true;
    else if (f === '--out') a.out = val();
    else if (f === '--json') a.json = true;
    else if (f === '--no-threads') a.threads = 'off';
    else if (f === '--threads-only') a.threads = 'only';
    else if (f === '--no-larger') a.larger = false;
    else if (f === '--configs') {
      a.configs = val()
        .split(',')
        .map((n) => {
          const c = ALL_CONFIGS.find((x) => x.name === n);
          if (!c) throw new Error(`--configs: unknown config '${n}' (one of ${ALL_CONFIGS.map((x) => x.name).join(', ')})`);
          return c;
        });
    } else throw new Error(`unknown flag ${f} (see the header of bench/run.ts)`);
  }
  return a;
}

const log = (s: string) => process.stderr.write(s + '\n');

/** "before" runs on the backend's own kernels, "now" with Scion's wasm kernels (unless SCION_WASM_KERNELS=0). */
function selectKernels(kind: StepKind, backend: BackendName): void {
  if (backend !== 'wasm') return;
  if (kind === 'baseline' || process.env['SCION_WASM_KERNELS'] === '0') uninstallWasmKernels();
  else installWasmKernels();
}

/**
 * Median ms/step of each kind (before/now) after 2 warm-up steps, the kinds' steps
 * interleaved (before, now, before, now, ...) so that both see the same load on a shared
 * machine; `steps` timed steps each, or fewer (at least 2) when the budget runs out.
 */
async function measureKinds(kinds: StepKind[], bc: BenchConfig, backend: BackendName, args: Args): Promise<Measurement[]> {
  const rigs = kinds.map((kind) => {
    selectKernels(kind, backend);
    try {
      return { kind, rig: makeRig(kind, bc.model, bc.batch, bc.ctx, bc.lr), times: [] as number[], loss: NaN, error: undefined as string | undefined };
    } catch (e) {
      return { kind, rig: undefined, times: [] as number[], loss: NaN, error: (e as Error).message.split('\n')[0] as string | undefined };
    }
  });
  const run = async (r: (typeof rigs)[number], timed: boolean) => {
    if (!r.rig || r.error) return;
    selectKernels(r.kind, backend);
    try {
      const n0 = tf.memory().numTensors;
      const t0 = performance.now();
      r.loss = await r.rig.step();
      if (timed) r.times.push(performance.now() - t0);
      const leaked = tf.memory().numTensors - n0;
      if (timed && leaked !== 0) r.error = `a step leaked ${leaked} tensors`;
    } catch (e) {
      r.error = (e as Error).message.split('\n')[0];
    }
  };
  for (let i = 0; i < 2; i++) for (const r of rigs) await run(r, false);
  const start = performance.now();
  for (let i = 0; i < args.steps && (i < 2 || performance.now() - start < args.budgetMs); i++) for (const r of rigs) await run(r, true);
  const memory = new Map<StepKind, { peakBytes: number; bytesPerParam: number }>();
  for (const r of rigs) {
    if (!r.rig || r.error) continue;
    selectKernels(r.kind, backend);
    const params = Object.values(r.rig.vars).reduce((n, v) => n + v.size, 0);
    const p = await tf.profile(async () => void (await r.rig!.step())); // one more, untimed step: its peak tensor bytes
    memory.set(r.kind, { peakBytes: p.peakBytes, bytesPerParam: p.peakBytes / params });
  }
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  return rigs.map((r) => {
    r.rig?.dispose();
    const base = { backend, config: bc.name, code: r.kind };
    if (r.error) return { ...base, ok: false, reason: r.error };
    const times = [...r.times].sort((x, y) => x - y);
    const ms = times[Math.floor(times.length / 2)]!;
    return {
      ...base,
      ok: true,
      msPerStep: ms,
      tokensPerS: (bc.batch * bc.ctx * 1000) / ms,
      steps: times.length,
      loss: r.loss,
      ...memory.get(r.kind),
      maxRssMB,
    };
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const os = await import('node:os');
  await ensureGradients();
  const result: BenchResult = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model ?? 'unknown',
      platform: `${process.platform}-${process.arch}`,
      loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
    },
    versions: {},
    configs: args.configs,
    backends: [],
    measurements: [],
    profiles: [],
    torch: [],
  };
  const wanted: BackendName[] = args.backends ?? ['wasm', 'cpu', 'tensorflow', 'tensorflow-gpu', 'webgpu'];
  for (const name of args.threads === 'only' ? [] : wanted) {
    try {
      const info = await initBackend(name);
      Object.assign(result.versions, info.versions);
      result.backends.push({ name, ok: true });
    } catch (e) {
      result.backends.push({ name, ok: false, reason: (e as Error).message });
      log(`bench: backend ${name} not available: ${(e as Error).message}`);
      continue;
    }
    if (name === 'webgpu') {
      result.webgpu = await benchWebgpu(args.configs, args.steps, args.budgetMs, log);
      continue;
    }
    const kinds: StepKind[] = args.baseline && name !== 'cpu' ? ['baseline', 'engine'] : ['engine'];
    for (const bc of args.configs) {
      for (const m of await measureKinds(kinds, bc, name, args)) {
        const kind = m.code;
        result.measurements.push(m);
        log(
          `bench: ${name} ${bc.name} ${kind === 'engine' ? 'now' : 'before'}: ${m.ok ? `${m.msPerStep!.toFixed(1)} ms/step, ${m.tokensPerS!.toFixed(0)} tokens/s` : `failed: ${m.reason}`}`,
        );
      }
      if (args.profile && name === wanted.find((w) => result.backends.some((b) => b.name === w && b.ok))) {
        for (const kind of kinds) {
          selectKernels(kind, name);
          const rig = makeRig(kind, bc.model, bc.batch, bc.ctx, bc.lr);
          try {
            await rig.step();
            result.profiles.push({ backend: name, config: bc.name, code: kind, profile: await profileStep(rig.step) });
          } catch (e) {
            log(`bench: profile of ${name} ${bc.name} ${kind} failed: ${(e as Error).message.split('\n')[0]}`);
          } finally {
            rig.dispose();
          }
        }
      }
    }
  }
  if (args.threads !== 'off') {
    const backend = args.backends?.includes('cpu') && !args.backends.includes('wasm') ? 'cpu' : 'wasm';
    await initBackend(backend);
    selectKernels('engine', backend);
    result.threads = await benchThreads({
      steps: args.steps,
      budgetMs: args.budgetMs,
      configs: args.larger ? [...args.configs, LARGER_CPU_CONFIG] : args.configs,
      log,
    });
  }
  if (args.torch && args.threads !== 'only') {
    log(`bench: PyTorch (${args.torchDevice}) on the same configs...`);
    const threads = args.torchDevice === 'cpu' ? [...new Set([1, os.cpus().length])] : [undefined];
    for (const t of threads) {
      const tr = runTorch(args.configs, Math.min(args.steps, 10), args.torchDevice, t);
      result.torch.push(tr);
      if (!tr.ok) {
        log(`bench: PyTorch not measured: ${tr.reason}`);
        break;
      }
    }
  }
  if (args.growth) result.growth = await benchGrowth({ onLog: log });
  const report = formatReport(result);
  (args.json ? process.stderr : process.stdout).write(report + '\n');
  const out = args.out ?? join(process.cwd(), 'bench-results', `bench-${result.date.replace(/[:.]/g, '-')}.json`);
  await mkdir(dirname(out), { recursive: true });
  await atomicWriteJson(out, result);
  log(`bench: results written to ${out}`);
  if (args.json) process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exit(1);
});
