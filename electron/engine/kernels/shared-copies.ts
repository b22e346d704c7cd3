/**
 * Copies the wasm backend need not make: its Identity (what tfjs runs for every tensor a
 * gradient saves, 138 per GPT-2 training step and 238 per Llama step at d 128, 4 layers) and
 * its Cast to the same dtype (every Mul's gradient casts both inputs to float32) each copy
 * the whole buffer into a new allocation. Registered over them here (tfjs's plugin API, as
 * wasm-kernels.ts), both return the input's data id with one more reference, as the cpu
 * backend's do and as the wasm backend's own Reshape already does.
 *
 * Sharing a buffer is safe because no kernel writes into an input: every tfjs wasm kernel and
 * every Scion kernel (wasm-kernels.ts, simd-kernels.ts) writes only into the output it
 * allocates with makeOutput, variables get new data ids on assign, and Scion's heap reads
 * (train/parallel/heap.ts) only read. The buffer is freed when its last reference goes
 * (BackendWasm.disposeData counts them). Exactness: a copy and a shared buffer hold the same bits.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type KernelConfig = ReturnType<typeof tf.getKernel> & object;
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];

let originals: { identity: KernelConfig; cast: KernelConfig } | undefined;

/** The input itself, with one more reference to its buffer (the output of a kernel that would copy it unchanged). */
function shared(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function identity(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  return x.dtype === 'string' ? originals!.identity.kernelFunc(args) : shared(args);
}

function cast(args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dtype } = args.attrs as { dtype: tf.DataType };
  return x.dtype === dtype && dtype !== 'string' ? shared(args) : originals!.cast.kernelFunc(args);
}

/** True when the sharing Identity and Cast are registered. */
export function sharedCopiesInstalled(): boolean {
  return originals !== undefined;
}

/** Registers the sharing Identity and Cast over the wasm backend's (which must be initialised). False where it has no such kernels. */
export function installSharedCopies(): boolean {
  if (originals) return true;
  const identityKernel = tf.getKernel('Identity', 'wasm');
  const castKernel = tf.getKernel('Cast', 'wasm');
  if (!identityKernel || !castKernel) return false;
  originals = { identity: identityKernel, cast: castKernel };
  for (const [name, kernelFunc] of [
    ['Identity', identity],
    ['Cast', cast],
  ] as const) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc });
  }
  return true;
}

/** Puts the backend's own (copying) Identity and Cast back. */
export function uninstallSharedCopies(): void {
  if (!originals) return;
  for (const k of [originals.identity, originals.cast]) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({ ...k, setupFunc: undefined });
  }
  originals = undefined;
}
