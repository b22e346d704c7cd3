/** Runs bench/torch_bench.py (PyTorch on the same configs) when a python3 with torch is found. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchConfig } from './configs.ts';

export interface TorchRow {
  name: string;
  ms_per_step: number;
  tokens_per_s: number;
}

export interface TorchResult {
  ok: boolean;
  python?: string;
  torch?: string;
  device?: string;
  threads?: number;
  results?: TorchRow[];
  reason?: string;
}

/** Debian's python3-torch lives in /usr/bin/python3; a pyenv python3 first on PATH often lacks torch. */
const CANDIDATES = [process.env['SCION_BENCH_PYTHON'], '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);

export function findTorchPython(): string | undefined {
  for (const py of CANDIDATES) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}

/** `threads` (CPU only): torch.set_num_threads; default all cores. */
export function runTorch(configs: BenchConfig[], steps: number, device = 'cpu', threads?: number): TorchResult {
  const python = findTorchPython();
  if (!python) return { ok: false, reason: `no python3 with torch found (tried ${CANDIDATES.join(', ')}; on Debian: apt-get install python3-torch)` };
  const script = join(import.meta.dirname, 'torch_bench.py');
  const r = spawnSync(python, [script, JSON.stringify(configs), '--device', device, '--steps', String(steps)], {
    encoding: 'utf8',
    timeout: 180_000,
    env: threads ? { ...process.env, SCION_TORCH_THREADS: String(threads) } : process.env,
  });
  if (r.status !== 0)
    return {
      ok: false,
      python,
      reason: `torch_bench.py failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`,
    };
  try {
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as Omit<TorchResult, 'ok' | 'python'>;
    return { ok: true, python, ...out };
  } catch {
    return { ok: false, python, reason: `torch_bench.py printed no JSON: ${r.stdout.slice(0, 200)}` };
  }
}
