/** `scion info`: which backend Scion got, why faster ones were not available, the WebGPU adapter, and versions. */
import { initBackend } from '../../engine/backend.ts';
import type { AdapterReport } from '../../engine/webgpu/adapter.ts';
import { COMMON_OPTIONS, type Command, parseCommandArgs, writeJson } from '../command.ts';

export const infoCommand: Command = {
  name: 'info',
  summary: 'show the tfjs backend in use, why faster ones are unavailable, the WebGPU adapter, and versions',
  usage: 'scion info [--backend NAME] [--json]',
  async run(argv, io) {
    const { values } = parseCommandArgs('info', argv, COMMON_OPTIONS, false);
    const info = await initBackend(values.backend);
    if (values.json) {
      writeJson(io, { backend: info.name, tfBackend: info.tfBackend, attempts: info.attempts, gpuAdapter: info.gpuAdapter ?? null, versions: info.versions });
      return 0;
    }
    const lines = [`backend: ${info.name} (tfjs '${info.tfBackend}')`, '', 'tried, fastest first:'];
    for (const a of info.attempts) lines.push(`  ${a.ok ? 'ok ' : 'no '} ${a.name}${a.reason ? `: ${a.reason}` : ''}`);
    if (info.gpuAdapter) lines.push('', ...adapterLines(info.gpuAdapter));
    lines.push('', 'versions:');
    for (const [k, v] of Object.entries(info.versions)) lines.push(`  ${k.padEnd(22)} ${v}`);
    io.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};

const MIB = 1024 * 1024;

function adapterLines(a: AdapterReport): string[] {
  const l = a.limits;
  return [
    `WebGPU adapter: ${a.name}`,
    `  vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, ${a.software ? 'software (a CPU rasteriser: --backend auto does not use it)' : 'hardware'}`,
    `  shader-f16 ${a.shaderF16 ? 'yes' : 'no'}, timestamp queries ${a.timestampQuery ? 'yes' : 'no'}`,
    `  largest buffer ${Math.floor(l.maxBufferSize / MIB)} MiB, storage binding ${Math.floor(l.maxStorageBufferBindingSize / MIB)} MiB, ` +
      `${l.maxStorageBuffersPerShaderStage} storage buffers per shader, workgroup memory ${l.maxComputeWorkgroupStorageSize} B, ${l.maxComputeInvocationsPerWorkgroup} invocations`,
  ];
}
