/**
 * `scion info`: which backend Scion got, why faster ones were not available, the WebGPU adapter,
 * and versions; `scion info <model-dir>`: the model's family, shape and size.
 */
import { initBackend } from '../../engine/backend.ts';
import { ScionError } from '../../engine/errors.ts';
import { familyName, headDimOf, modelShape } from '../../engine/models/config.ts';
import { parameterCount } from '../../engine/models/family.ts';
import { readModelConfig } from '../../engine/models/model.ts';
import type { AdapterReport } from '../../engine/webgpu/adapter.ts';
import { COMMON_OPTIONS, type Command, type CommandIO, parseCommandArgs, writeJson } from '../command.ts';

/** Family, shape and parameter count from a model folder's config.json (no weights read, no backend needed). */
async function modelInfo(dir: string, json: boolean, io: CommandIO): Promise<number> {
  const { config } = await readModelConfig(dir);
  const shape = modelShape(config);
  const info = { dir, family: config.family, familyName: familyName(config.family), shape, headDim: headDimOf(config), parameters: parameterCount(config) };
  if (json) {
    writeJson(io, info);
    return 0;
  }
  const s = shape;
  io.stdout.write(
    [
      `model:      ${dir}`,
      `family:     ${info.familyName} (${config.family})`,
      `shape:      hidden ${s.hidden}, ${s.layers} layers, ${s.heads} heads (${s.kvHeads} KV, head_dim ${info.headDim}), ffn ${s.ffn}, context ${s.ctx}, vocab ${s.vocab}`,
      `parameters: ${info.parameters.toLocaleString('en-US')}`,
    ].join('\n') + '\n',
  );
  return 0;
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'show the tfjs backend in use, why faster ones are unavailable, the WebGPU adapter, and versions; or the family, shape and size of a model folder',
  usage: 'scion info [<model-dir>] [--backend NAME] [--json]',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('info', argv, COMMON_OPTIONS, true);
    if (positionals.length > 1) throw new ScionError(`scion info: one model folder at most, got ${positionals.length}`, 'E_USAGE');
    if (positionals[0] !== undefined) return modelInfo(positionals[0], values.json === true, io);
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
