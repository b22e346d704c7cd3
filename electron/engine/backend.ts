/**
 * Picks the tfjs backend at start-up: native TensorFlow on the GPU, native TensorFlow on the
 * CPU, WebAssembly, then pure JavaScript, or the one named by `--backend` / SCION_BACKEND.
 * The native packages are optional: when they are absent or cannot load, the reason is
 * recorded and reported, never thrown.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { ScionError } from './errors.ts';
import { installWasmKernels, wasmKernelsInstalled, wasmMatmulKind } from './kernels/wasm-kernels.ts';
import { installSharedCopies } from './kernels/shared-copies.ts';
import { perOpOn } from './kernels/per-op.ts';
import { installNormKernels } from './kernels/norm-kernels.ts';
import { type AdapterReport, autoRefusal, probeAdapter } from './webgpu/adapter.ts';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
/** The automatic order. WebGPU only on a hardware adapter (webgpu/adapter.ts), never a software one. */
const AUTO_ORDER: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

export interface BackendAttempt {
  name: BackendName;
  ok: boolean;
  reason?: string;
}

export interface BackendInfo {
  /** The Scion name of the backend in use. */
  name: BackendName;
  /** tfjs's own name for it (`tensorflow`, `wasm`, `cpu`, `webgpu`). */
  tfBackend: string;
  attempts: BackendAttempt[];
  versions: Record<string, string>;
  /** The WebGPU adapter, when one was found (used or not). */
  gpuAdapter?: AdapterReport;
}

const require = createRequire(import.meta.url);
let current: BackendInfo | undefined;
let gpuAdapter: AdapterReport | undefined;

function packageVersion(pkg: string): string | undefined {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 300);
}

/** The wasm module adds process handlers that print its whole minified source on any crash. */
function withoutNewProcessHandlers<T>(fn: () => Promise<T>): Promise<T> {
  const before = {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
  return fn().finally(() => {
    for (const l of process.listeners('uncaughtException')) if (!before.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!before.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
  });
}

async function tryBackend(name: BackendName, auto: boolean): Promise<void> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        require.resolve(pkg);
      } catch {
        throw new Error(`${pkg} is not installed (npm install ${pkg}; it needs libtensorflow${name === 'tensorflow-gpu' ? ' 2.9 with CUDA 11.2' : ''})`);
      }
      try {
        require(pkg);
      } catch (e) {
        throw new Error(`${pkg} is installed but cannot load: ${firstLine(e)}`);
      }
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but the tensorflow backend did not initialise`);
      return;
    }
    case 'webgpu': {
      await withoutNewProcessHandlers(async () => {
        gpuAdapter ??= await probeAdapter();
        const refusal = auto ? autoRefusal(gpuAdapter) : undefined;
        if (refusal) throw new Error(refusal);
        await import('@tensorflow/tfjs-backend-webgpu');
        if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend did not initialise');
      });
      return;
    }
    case 'wasm': {
      await withoutNewProcessHandlers(async () => {
        await import('@tensorflow/tfjs-backend-wasm');
        if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
        await tf.ready();
      });
      // Scion's SIMD kernels for matrix products and transposes (kernels/wasm-kernels.ts);
      // SCION_WASM_KERNELS=0 keeps the backend's own (SCION_GEMM=0: only the products' tiled kernel).
      if (process.env['SCION_WASM_KERNELS'] !== '0') installWasmKernels();
      // Identity and same-dtype Cast share the input's buffer instead of copying it
      // (kernels/shared-copies.ts), LayerNorm and RMSNorm run as one SIMD kernel each way
      // (kernels/norm-kernels.ts); SCION_PEROP=0 keeps neither (the bench's "before").
      if (perOpOn()) {
        installSharedCopies();
        installNormKernels();
      }
      return;
    }
    case 'cpu': {
      await import('@tensorflow/tfjs-backend-cpu');
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
      // Its first write prints a banner recommending tfjs-node; `scion info` already says that.
      (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      return;
    }
  }
}

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

/**
 * Initialises a backend. `requested` (or SCION_BACKEND) names one; 'auto' or nothing tries
 * the automatic order. A named backend that fails is an error with the reason.
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const want = requested ?? process.env['SCION_BACKEND'] ?? 'auto';
  if (current && (want === 'auto' || want === current.name)) return current;
  if (want !== 'auto' && !isBackendName(want)) {
    throw new ScionError(`unknown backend '${want}' (choose one of: auto, ${BACKEND_NAMES.join(', ')})`, 'E_BACKEND');
  }
  const order: BackendName[] = want === 'auto' ? AUTO_ORDER : [want];
  const attempts: BackendAttempt[] = [];
  for (const name of order) {
    try {
      await tryBackend(name, want === 'auto');
      attempts.push({ name, ok: true });
      current = { name, tfBackend: tf.getBackend(), attempts, versions: versions(), ...(gpuAdapter ? { gpuAdapter } : {}) };
      return current;
    } catch (e) {
      attempts.push({ name, ok: false, reason: firstLine(e) });
    }
  }
  const why = attempts.map((a) => `${a.name}: ${a.reason}`).join('; ');
  throw new ScionError(`no tfjs backend could start (${why})`, 'E_BACKEND');
}

/** The backend in use, if one was initialised. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.versions.node, 'tfjs-core': tf.version_core };
  for (const pkg of [
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
    '@tensorflow/tfjs-backend-webgpu',
  ]) {
    const v = packageVersion(pkg);
    if (v) out[pkg.replace('@tensorflow/', '')] = v;
  }
  if (process.versions['electron']) out['electron'] = process.versions['electron'];
  if (tf.getBackend() === 'wasm') {
    out['scion-wasm-kernels'] = wasmKernelsInstalled() ? 'simd' : 'off';
    out['scion-wasm-matmul'] = wasmMatmulKind(); // gemm-fma: relaxed SIMD's one-rounding multiply-add
  }
  return out;
}
