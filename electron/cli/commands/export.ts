/**
 * `scion export <model-dir> --out <dir>`: writes a model (any supported checkpoint: sharded,
 * F16/BF16, a training checkpoint) as a float32 Hugging Face folder that `transformers`
 * loads with `from_pretrained`.
 */
import { initBackend } from '../../engine/backend.ts';
import { checkOutputDir, OUTPUT_MARKER, outputMarker } from '../../engine/io/out-dir.ts';
import { parameterCount } from '../../engine/models/family.ts';
import { disposeParams, loadModel, saveModel } from '../../engine/models/model.ts';
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
    await initBackend(values.backend ?? 'cpu');
    const model = await loadModel(dir);
    try {
      await saveModel(out, model.config, model.params, model.rawConfig, { copyFrom: dir, extraFiles: { [OUTPUT_MARKER]: outputMarker('model', 'export') } });
    } finally {
      disposeParams(model.params);
    }
    const result = { out, family: model.config.family, params: parameterCount(model.config) };
    if (values.json) writeJson(io, result);
    else log(io, `wrote ${out} (${model.config.family}, ${result.params.toLocaleString('en-US')} parameters)`);
    return 0;
  },
};
