/**
 * `scion export <model-dir> --out <dir>`: writes a model (any supported checkpoint: sharded,
 * F16/BF16, a training checkpoint) as a float32 Hugging Face folder that `transformers`
 * loads with `from_pretrained`, one tensor at a time (no tfjs backend is used).
 */
import { checkOutputDir, OUTPUT_MARKER, outputMarker } from '../../engine/io/out-dir.ts';
import { parameterCount } from '../../engine/models/family.ts';
import { exportModel } from '../../engine/models/model.ts';
import { COMMON_OPTIONS, type Command, log, parseCommandArgs, requireOption, writeJson } from '../command.ts';

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a model as a Hugging Face folder (config.json, model.safetensors, tokenizer)',
  usage:
    'scion export <model-dir> --out <dir> [--force] [--json]\n' +
    '  --force replaces an existing --out only when Scion wrote it (its .scion-output.json, or only files Scion writes); never a folder with other files',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('export', argv, {
      ...COMMON_OPTIONS,
      out: { type: 'string' },
      force: { type: 'boolean', default: false },
    });
    const dir = requireOption('export', '<model-dir>', positionals[0]);
    const out = requireOption('export', 'out', values.out);
    await checkOutputDir({ out, kind: 'model', command: 'export', inputs: [{ what: 'the model', path: dir }], force: values.force });
    const config = await exportModel(dir, out, { extraFiles: { [OUTPUT_MARKER]: outputMarker('model', 'export') } });
    const result = { out, family: config.family, params: parameterCount(config) };
    if (values.json) writeJson(io, result);
    else log(io, `wrote ${out} (${config.family}, ${result.params.toLocaleString('en-US')} parameters)`);
    return 0;
  },
};
