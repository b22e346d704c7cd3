/**
 * `scion export <model-dir> --out <dir>`: writes a model (any supported checkpoint: sharded,
 * F16/BF16, a training checkpoint) as a float32 Hugging Face folder that `transformers`
 * loads with `from_pretrained`, one tensor at a time (no tfjs backend is used).
 */
import { parseShardSize } from '../../engine/io/model-weights.ts';
import { checkOutputDir, OUTPUT_MARKER, outputMarker } from '../../engine/io/out-dir.ts';
import { parameterCount } from '../../engine/models/family.ts';
import { exportModel } from '../../engine/models/model.ts';
import { COMMON_OPTIONS, type Command, log, parseCommandArgs, requireOption, writeJson } from '../command.ts';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a model as a Hugging Face folder (config.json, model.safetensors or shards, tokenizer)',
  usage:
    'scion export <model-dir> --out <dir> [--max-shard-size 5GB] [--force] [--json]\n' +
    '  --max-shard-size: weights above it are written as transformers shards (model-00001-of-0000N.safetensors + model.safetensors.index.json); default 5GB; e.g. 500MB, 2GB\n' +
    '  --force replaces an existing --out only when Scion wrote it (its .scion-output.json, or only files Scion writes); never a folder with other files',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('export', argv, {
      ...COMMON_OPTIONS,
      out: { type: 'string' },
      'max-shard-size': { type: 'string' },
      force: { type: 'boolean', default: false },
    });
    const dir = requireOption('export', '<model-dir>', positionals[0]);
    const out = requireOption('export', 'out', values.out);
    await checkOutputDir({ out, kind: 'model', command: 'export', inputs: [{ what: 'the model', path: dir }], force: values.force });
    const shard = values['max-shard-size'];
    const maxShardBytes = shard !== undefined ? parseShardSize(shard, 'scion export: --max-shard-size') : undefined;
    const config = await exportModel(dir, out, {
      extraFiles: { [OUTPUT_MARKER]: outputMarker('model', 'export') },
      ...(maxShardBytes !== undefined ? { maxShardBytes } : {}),
    });
    const result = { out, family: config.family, params: parameterCount(config) };
    if (values.json) writeJson(io, result);
    else log(io, `wrote ${out} (${config.family}, ${result.params.toLocaleString('en-US')} parameters)`);
    return 0;
  },
};
