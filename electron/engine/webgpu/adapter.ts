/**
 * The WebGPU adapter: getting one (Electron's navigator.gpu, or Dawn for Node through the
 * optional `webgpu` package), describing it for `scion info` (name, vendor, software or
 * hardware, the limits that bound model size, shader-f16, timestamp queries), and whether
 * the automatic backend choice may use it: a hardware adapter only, never a software
 * rasteriser (Mesa lavapipe/llvmpipe, SwiftShader, WARP), which is slower than wasm.
 */

export interface AdapterReport {
  /** What to call it: the description, else the device, else the vendor. */
  name: string;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (fallback adapter, or a known software rasteriser). */
  software: boolean;
  shaderF16: boolean;
  timestampQuery: boolean;
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxStorageBuffersPerShaderStage: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
  };
}

/** The parts of GPUAdapter read here (the `webgpu` package's types are not a dependency of the engine's type-check). */
export interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  features: { has(name: string): boolean };
  limits: Record<string, number>;
  requestDevice?: (d?: { requiredFeatures?: Iterable<unknown> }) => Promise<unknown>;
}

interface GpuLike {
  requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<AdapterLike | null>;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|\bwarp\b/i;

export function describeAdapter(a: AdapterLike): AdapterReport {
  const i = a.info ?? {};
  const [vendor, architecture, device, description] = [i.vendor ?? '', i.architecture ?? '', i.device ?? '', i.description ?? ''];
  const software = i.isFallbackAdapter === true || a.isFallbackAdapter === true || SOFTWARE.test([architecture, device, description].join(' '));
  const limit = (k: string) => Number(a.limits[k] ?? 0);
  return {
    name: description || device || vendor || 'unnamed adapter',
    vendor,
    architecture,
    device,
    description,
    software,
    shaderF16: a.features.has('shader-f16'),
    timestampQuery: a.features.has('timestamp-query'),
    limits: {
      maxBufferSize: limit('maxBufferSize'),
      maxStorageBufferBindingSize: limit('maxStorageBufferBindingSize'),
      maxStorageBuffersPerShaderStage: limit('maxStorageBuffersPerShaderStage'),
      maxComputeWorkgroupStorageSize: limit('maxComputeWorkgroupStorageSize'),
      maxComputeInvocationsPerWorkgroup: limit('maxComputeInvocationsPerWorkgroup'),
    },
  };
}

/** Why the automatic choice skips this adapter, or undefined when it may use it. */
export function autoRefusal(r: AdapterReport): string | undefined {
  return r.software ? `the adapter is a software rasteriser (${r.name}), slower than wasm: --backend webgpu uses it anyway` : undefined;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}

const PATCHED = Symbol('scion-f16');

/**
 * Makes the device tfjs asks for carry `shader-f16` where the adapter has it (tfjs asks only
 * for timestamp queries), so `--precision f16` can compile its kernels; fp32 is unchanged.
 */
function requestF16(gpu: GpuLike): GpuLike {
  const g = gpu as GpuLike & { [PATCHED]?: true };
  if (g[PATCHED]) return gpu;
  const request = gpu.requestAdapter.bind(gpu);
  g.requestAdapter = async (opts) => {
    const a = await request(opts);
    const device = a?.requestDevice?.bind(a);
    if (a && device && a.features.has('shader-f16'))
      a.requestDevice = (d = {}) => device({ ...d, requiredFeatures: [...(d.requiredFeatures ?? []), 'shader-f16'] });
    return a;
  };
  g[PATCHED] = true;
  return gpu;
}

/** navigator.gpu: the runtime's own (Electron, a browser), else Dawn from the `webgpu` package, installed as the global tfjs looks for. */
async function navigatorGpu(): Promise<GpuLike> {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu) return requestF16(g.navigator.gpu);
  let webgpu: { create: (opts: string[]) => GpuLike; globals: Record<string, unknown> };
  try {
    webgpu = (await import('webgpu')) as unknown as typeof webgpu;
  } catch (e) {
    throw new Error(`navigator.gpu is not available and the \`webgpu\` package (Dawn for Node) could not load: ${firstLine(e)}`);
  }
  Object.assign(globalThis, webgpu.globals);
  const gpu = requestF16(webgpu.create([]));
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  return gpu;
}

/** The adapter tfjs's webgpu backend will get (it asks for high performance), described; throws with the reason when there is none. */
export async function probeAdapter(): Promise<AdapterReport> {
  const gpu = await navigatorGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter)
    throw new Error(
      'WebGPU found no adapter (no GPU, or no Vulkan/Metal/D3D12 driver: on Linux install libvulkan1 and the GPU vendor driver; mesa-vulkan-drivers 25+ gives a software one)',
    );
  return describeAdapter(adapter);
}
