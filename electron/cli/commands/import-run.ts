/**
 * `scion import-run <dir> --project DIR`: records a run trained outside Scion (a hand-off folder's
 * run/, written by its train.py) as a training session of the model it was handed off from, so
 * the app's charts, evaluation matrix and reports compare it with Scion's own runs.
 */
import { importRun } from '../../store/import-run.ts';
import { COMMON_OPTIONS, type Command, log, parseCommandArgs, requireOption, writeJson } from '../command.ts';

export const importRunCommand: Command = {
  name: 'import-run',
  summary: "record a hand-off folder's PyTorch run in a project (curves, final model)",
  usage: 'scion import-run <handoff-dir|run-dir> --project DIR [--json]',
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('import-run', argv, { ...COMMON_OPTIONS, project: { type: 'string' } });
    const r = await importRun(requireOption('import-run', 'project', values.project), requireOption('import-run', '<dir>', positionals[0]));
    log(io, `recorded ${r.runDir} in project ${values.project} as training ${r.training.id} (${r.steps} steps${r.completed ? ', completed' : ''})`);
    if (values.json)
      writeJson(io, {
        training_id: r.training.id,
        model_id: r.training.modelId,
        result_model_id: r.training.resultModelId ?? null,
        run_dir: r.runDir,
        steps: r.steps,
        completed: r.completed,
        final_val_loss: r.training.finalValLoss ?? null,
      });
    return 0;
  },
};
