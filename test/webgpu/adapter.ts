/**
 * Whether the WebGPU tests can run here. Under CI (CI set) they must: .ci/lavapipe installs a
 * software Vulkan driver, so a missing adapter is an error there, never a skip. Elsewhere (a
 * developer machine without Vulkan) the tests are skipped with the reason.
 */
import { initBackend } from '../../electron/engine/backend.ts';
import { ensureGradients } from '../../electron/engine/train/gradients.ts';

export async function webgpuOrSkip(): Promise<string | false> {
  try {
    await initBackend('webgpu');
    await ensureGradients();
    return false;
  } catch (e) {
    const why = (e as Error).message;
    if (process.env['CI']) throw new Error(`CI must run the WebGPU tests (install lavapipe with .ci/lavapipe, set XDG_RUNTIME_DIR): ${why}`);
    return `no WebGPU adapter here: ${why}`;
  }
}
