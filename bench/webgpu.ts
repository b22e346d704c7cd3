/**
 * The WebGPU part of `npm run bench -- --backends webgpu [--configs ...]`: per config, the
 * engine's training step with Scion's WGSL kernels off ("before": tfjs's generic kernels)
 * and on ("now"), steps interleaved so both see the same load. Per step: dispatches, queue
 * submits, host microseconds per dispatch, ms/step, GPU ms/step (timestamp queries, where the
 * adapter has them), tokens/s; and the profile: dispatches by program, GPU ms by kernel.
 * Host us/dispatch comes from a separate step recorded with submits deferred to its end, so
 * the GPU does not run while the host records (on lavapipe the "GPU" is the same CPU cores):
 * the time from the step's start to its last recorded dispatch, divided by the dispatches.
 * "f16" (where the device has shader-f16): "now" with `--precision f16`'s matrix products
 * and loss scaling (train/loss-scale.ts), at the initial scale; its GPU ms are not shown
 * (tf.time does not time Scion's own pipelines, where its products run).
 * PyTorch and the peer (genai-nanogpt) are not run here: their rows say so.
 */
import * as tf from '@tensorflow/tfjs-core';
import { currentBackend } from '../electron/engine/backend.ts';
import { startCount, stopCount } from '../electron/engine/webgpu/counters.ts';
import { DEFAULT_LOSS_SCALE } from '../electron/engine/train/loss-scale.ts';
import { setMatmulPrecision } from '../electron/engine/webgpu/ops-f16.ts';
import { setWebgpuKernels } from '../electron/engine/webgpu/ops.ts';
import { deviceHas } from '../electron/engine/webgpu/raw.ts';
import type { BenchConfig } from './configs.ts';
import { profileStep, type StepProfile } from './profile.ts';
import { makeRig, type StepRig } from './train-step.ts';

export interface WebgpuRow {
  config: string;
  code: 'before' | 'now' | 'f16';
  ok: boolean;
  reason?: string;
  dispatches?: number;
  submits?: number;
  hostUsPerDispatch?: number;
  /** The same from the process's CPU time (not inflated by other processes on a loaded machine). */
  hostCpuUsPerDispatch?: number;
  msPerStep?: number;
  gpuMsPerStep?: number | null;
  tokensPerS?: number;
  loss?: number;
  byProgram?: [string, number][];
  profile?: StepProfile;
}

export interface WebgpuBench {
  adapter: string;
  timestampQuery: boolean;
  rows: WebgpuRow[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** ms of host work to record one step, with no submit (and so no GPU work) until it ends: wall and CPU time. */
async function hostMs(rig: StepRig): Promise<{ wall: number; cpu: number }> {
  const key = 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE';
  const batch = tf.env().get(key);
  tf.env().set(key, 1e9);
  try {
    startCount(true);
    await rig.step();
    const c = stopCount();
    return { wall: c.hostMs, cpu: c.cpuMs! };
  } finally {
    tf.env().set(key, batch);
  }
}

/** Host us per dispatch, the least of 3 steps: wall clock and CPU time (lavapipe idle while the host records). */
async function hostFigures(rig: StepRig, dispatches: number): Promise<{ hostUsPerDispatch: number; hostCpuUsPerDispatch: number }> {
  const runs = [await hostMs(rig), await hostMs(rig), await hostMs(rig)];
  return {
    hostUsPerDispatch: (Math.min(...runs.map((r) => r.wall)) * 1000) / dispatches,
    hostCpuUsPerDispatch: (Math.min(...runs.map((r) => r.cpu)) * 1000) / dispatches,
  };
}

async function gpuMs(rig: StepRig): Promise<number> {
  let p: Promise<number> | undefined;
  const t = await tf.time(() => void (p = rig.step()));
  await p;
  return t.kernelMs as number;
}

/** The rig's step with the products in f16 (fp32 again after it). */
function inF16(rig: StepRig): StepRig {
  const step = async () => {
    setMatmulPrecision('f16');
    try {
      return await rig.step();
    } finally {
      setMatmulPrecision('fp32');
    }
  };
  return { ...rig, step };
}

export async function benchWebgpu(configs: BenchConfig[], steps: number, budgetMs: number, log: (s: string) => void): Promise<WebgpuBench> {
  const backend = tf.backend() as unknown as { supportTimestampQuery?: boolean };
  const out: WebgpuBench = { adapter: currentBackend()?.gpuAdapter?.name ?? 'unknown', timestampQuery: backend.supportTimestampQuery === true, rows: [] };
  for (const bc of configs) {
    const f16 = deviceHas('shader-f16');
    const kinds = [{ code: 'before' as const, on: false }, { code: 'now' as const, on: true }, ...(f16 ? [{ code: 'f16' as const, on: true }] : [])].map(
      (k) => {
        setWebgpuKernels(k.on);
        const rig = makeRig('engine', bc.model, bc.batch, bc.ctx, bc.lr, `bench/webgpu-${k.code}`, k.code === 'f16' ? DEFAULT_LOSS_SCALE : undefined);
        return {
          ...k,
          rig: k.code === 'f16' ? inF16(rig) : rig,
          times: [] as number[],
          counts: [] as ReturnType<typeof stopCount>[],
          loss: NaN,
          error: '',
        };
      },
    );
    const once = async (k: (typeof kinds)[number], timed: boolean) => {
      if (k.error) return;
      setWebgpuKernels(k.on);
      try {
        startCount();
        const t0 = performance.now();
        k.loss = await k.rig.step();
        const ms = performance.now() - t0;
        const c = stopCount();
        if (timed) {
          k.times.push(ms);
          k.counts.push(c);
        }
      } catch (e) {
        k.error = (e as Error).message.split('\n')[0]!;
      }
    };
    for (let i = 0; i < 2; i++) for (const k of kinds) await once(k, false);
    const start = performance.now();
    for (let i = 0; i < steps && (i < 2 || performance.now() - start < budgetMs); i++) for (const k of kinds) await once(k, true);
    for (const k of kinds) {
      if (k.error) {
        out.rows.push({ config: bc.name, code: k.code, ok: false, reason: k.error });
        k.rig.dispose();
        continue;
      }
      setWebgpuKernels(k.on);
      const c = k.counts[k.counts.length - 1]!;
      const ms = median(k.times);
      const row: WebgpuRow = {
        config: bc.name,
        code: k.code,
        ok: true,
        dispatches: c.dispatches,
        submits: c.submits,
        ...(await hostFigures(k.rig, c.dispatches)),
        msPerStep: ms,
        // tf.time times tfjs's programs only: f16's products and casts (Scion's own pipelines, raw.ts) would be left out
        gpuMsPerStep: out.timestampQuery && k.code !== 'f16' ? await gpuMs(k.rig) : null,
        tokensPerS: (bc.batch * bc.ctx * 1000) / ms,
        loss: k.loss,
        byProgram: [...c.byProgram.entries()].sort((a, b) => b[1] - a[1]),
        profile: await profileStep(k.rig.step, 12),
      };
      out.rows.push(row);
      log(
        `bench: webgpu ${bc.name} ${k.code}: ${row.dispatches} dispatches/step, ${row.hostUsPerDispatch!.toFixed(0)} host us/dispatch (${row.hostCpuUsPerDispatch!.toFixed(0)} CPU), ${ms.toFixed(1)} ms/step`,
      );
      k.rig.dispose();
    }
    if (!f16) out.rows.push({ config: bc.name, code: 'f16', ok: false, reason: 'the adapter has no shader-f16' });
  }
  setWebgpuKernels(true);
  return out;
}

const fmt = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));

export function formatWebgpu(b: WebgpuBench): string {
  const lines = [
    `WebGPU on ${b.adapter} (timestamp queries: ${b.timestampQuery ? 'yes' : 'no'}); "before" = tfjs's generic kernels, "now" = Scion's WGSL kernels, "f16" = now with --precision f16; same run, steps interleaved`,
    '',
    'host us/dispatch: wall clock and CPU time of recording one step with submits deferred to its end (the least of 3 steps)',
    '',
    'config          code     dispatches/step  submits/step  host us/dispatch (wall, cpu)  ms/step  GPU ms/step  tokens/s  x before',
  ];
  for (const r of b.rows) {
    if (!r.ok) {
      lines.push(`${r.config.padEnd(15)} ${r.code.padEnd(8)} failed: ${r.reason}`);
      continue;
    }
    const before = b.rows.find((x) => x.config === r.config && x.code === 'before' && x.ok);
    const speed = r.code !== 'before' && before ? (before.msPerStep! / r.msPerStep!).toFixed(2) : '-';
    lines.push(
      `${r.config.padEnd(15)} ${r.code.padEnd(8)} ${String(r.dispatches).padStart(15)}  ${String(r.submits).padStart(12)}  ${`${fmt(r.hostUsPerDispatch, 0)}, ${fmt(r.hostCpuUsPerDispatch, 0)}`.padStart(28)}  ${fmt(r.msPerStep).padStart(7)}  ${fmt(r.gpuMsPerStep).padStart(11)}  ${fmt(r.tokensPerS, 0).padStart(8)}  ${speed.padStart(8)}`,
    );
  }
  if (b.rows.some((r) => r.code === 'f16' && r.ok))
    lines.push(
      "f16: no GPU ms/step, and its profile's GPU ms leave out its products and casts: they run on Scion's own pipelines, which tf.time does not time",
    );
  for (const who of ['PyTorch (same device)', 'genai-nanogpt (peer)'])
    lines.push(`${who.padEnd(24)} not measured here (no GPU on this machine; the peer is not installed)`);
  for (const r of b.rows.filter((x) => x.ok)) {
    lines.push('', `profile: ${r.config} ${r.code}: dispatches by program (top 12)`);
    for (const [p, n] of r.byProgram!.slice(0, 12)) lines.push(`  ${p.padEnd(36)} ${String(n).padStart(5)}`);
    lines.push(`  GPU ms by kernel (tf.profile, ${r.profile!.kernels} kernels, ${r.profile!.kernelMs.toFixed(1)} ms):`);
    for (const t of r.profile!.top) lines.push(`  ${t.kernel.padEnd(36)} ${t.ms.toFixed(2).padStart(8)} ${String(t.calls).padStart(5)}`);
  }
  return lines.join('\n');
}
