/**
 * `scion handoff <model-dir|model-id> --data <file|dataset-id> --out <dir>`: a folder that trains
 * the model on PyTorch (one GPU, a node, several nodes) with a Scion session's settings;
 * `scion import-run` brings the run back.
 */
import { existsSync } from 'node:fs';
import { ScionError } from '../../engine/errors.ts';
import { writeHandoff } from '../../engine/handoff/write-handoff.ts';
import { Project } from '../../store/project.ts';
import { COMMON_OPTIONS, type Command, intOption, log, parseCommandArgs, requireOption, writeJson } from '../command.ts';
import { SESSION_FLAGS, TRAINING_FLAGS, TRAINING_USAGE, trainingFlags } from './train.ts';

/** A model or dataset named by its id in `project`, else the path as given. */
async function resolveIn(project: Project | undefined, kind: 'models' | 'datasets', value: string): Promise<string> {
  if (!project || existsSync(value)) return value;
  const [id, fraction] = kind === 'datasets' ? value.split(/(?=#)/) : [value, undefined];
  const entry = project[kind].get(id!);
  if (!entry) throw new ScionError(`scion handoff: '${value}' is neither a path nor a ${kind.slice(0, -1)} id of project ${project.dir}`, 'E_USAGE');
  return entry.path + (fraction ?? '');
}

export const handoffCommand: Command = {
  name: 'handoff',
  summary: 'write a folder that trains a model on PyTorch (torchrun, one GPU to many nodes) with these settings',
  usage:
    `scion handoff <model-dir|model-id> --data <file|dataset-id> [--val <file|dataset-id>] --steps N --out <dir> ${TRAINING_USAGE} ` +
    '[--moments <optimizer.safetensors>] [--mask-ramp K] [--project DIR] [--force] [--json]\n' +
    'The options are those of scion train. Ids are looked up in --project. The folder holds the model, the tokenized data,\n' +
    'train.py, launch.sh and a README; bring the run back with: scion import-run <dir> --project DIR',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('handoff', argv, {
      ...COMMON_OPTIONS,
      ...TRAINING_FLAGS,
      ...SESSION_FLAGS,
    });
    const project = values.project ? await Project.open(values.project) : undefined;
    const flags = trainingFlags('handoff', values);
    const maskRamp = intOption('handoff', 'mask-ramp', values['mask-ramp']);
    const r = await writeHandoff(
      {
        ...flags,
        model: await resolveIn(project, 'models', requireOption('handoff', '<model-dir>', positionals[0])),
        data: await resolveIn(project, 'datasets', requireOption('handoff', 'data', values.data)),
        out: requireOption('handoff', 'out', values.out),
        steps: requireOption('handoff', 'steps', flags.steps),
        ...(values.val !== undefined ? { val: await resolveIn(project, 'datasets', values.val) } : {}),
        ...(values.moments !== undefined ? { moments: values.moments } : {}),
        ...(maskRamp !== undefined ? { maskRamp } : {}),
        force: values.force,
      },
      (line) => log(io, line),
    );
    const m = r.manifest;
    if (values.json)
      writeJson(io, { dir: r.dir, train_tokens: m.data.train.tokens, val_windows: m.data.val_windows?.windows ?? 0, files: Object.keys(m.files).length });
    else io.stdout.write(`wrote ${r.dir}\nrun it there with: ./launch.sh   (GPUS=8 ./launch.sh for 8 GPUs; see its README.md)\n`);
    return 0;
  },
};
