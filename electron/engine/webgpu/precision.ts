/**
 * Whether `--precision f16` (train/loss-scale.ts, ops-f16.ts) can run in this process: on the
 * webgpu backend, on an adapter with the `shader-f16` feature and a device made with it
 * (adapter.ts asks for it), with Scion's kernels on. Checked before a run writes anything.
 */
import * as tf from '@tensorflow/tfjs-core';
import { currentBackend } from '../backend.ts';
import { ScionError } from '../errors.ts';
import { webgpuKernelsOn } from './ops.ts';
import { deviceHas } from './raw.ts';

export interface F16Context {
  backend: string;
  /** The adapter's name (`scion info` shows it), when there is one. */
  adapter?: string;
  adapterF16: boolean;
  deviceF16: boolean;
  kernels: boolean;
}

/** Why f16 cannot run in `c`, or undefined when it can. */
export function f16Refusal(c: F16Context): string | undefined {
  if (c.backend !== 'webgpu') return `needs the webgpu backend, and this process runs on ${c.backend} (pass --backend webgpu)`;
  const adapter = `the WebGPU adapter "${c.adapter ?? 'unknown'}"`;
  if (!c.adapterF16) return `needs the WebGPU feature 'shader-f16', which ${adapter} does not have: train in fp32 (the default)`;
  if (!c.deviceF16) return `needs the WebGPU feature 'shader-f16': ${adapter} has it but the device was made without it`;
  if (!c.kernels) return "needs Scion's WebGPU kernels, which SCION_WEBGPU_KERNELS=0 turns off";
  return undefined;
}

/** The context of this process's backend. */
export function f16Context(): F16Context {
  const info = currentBackend();
  const backend = info?.name ?? tf.getBackend();
  const gpu = backend === 'webgpu' && tf.getBackend() === 'webgpu';
  return {
    backend,
    ...(info?.gpuAdapter ? { adapter: info.gpuAdapter.name } : {}),
    adapterF16: info?.gpuAdapter?.shaderF16 === true,
    deviceF16: gpu && deviceHas('shader-f16'),
    kernels: gpu && webgpuKernelsOn(),
  };
}

/** Throws (usage error, exit 2) when f16 cannot run here, naming the adapter and the feature. */
export function requireF16(command: string): void {
  const why = f16Refusal(f16Context());
  if (why) throw new ScionError(`${command}: --precision f16 ${why}`, 'E_USAGE');
}
