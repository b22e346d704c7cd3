/**
 * The hand-off from the app: model.handoff writes `scion handoff`'s folder in a job (the same
 * writer, the same checks: the output-folder policy, the model's family, the data); and
 * training.import records the run its train.py wrote as a training session of the model
 * (`scion import-run`'s code), then re-reads the project so every client lists it.
 */
import * as path from 'node:path';
import type { HandoffRequest, Id, JobInfo, TrainingEntry } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { importRun } from '../store/import-run.ts';
import { datasetSpec } from '../store/datasets.ts';
import { isInside } from '../store/layout.ts';
import type { Project } from '../store/project.ts';
import type { JobManager } from './jobs.ts';

export async function startHandoff(project: Project, jobs: JobManager, req: HandoffRequest): Promise<JobInfo> {
  const model = project.get('models', req.modelId);
  const data = project.get('datasets', req.datasetId);
  const val = req.valDatasetId ? project.get('datasets', req.valDatasetId) : undefined;
  const out = path.resolve(req.out);
  if (isInside(project.dir, out))
    throw new ScionError(`${out}: write the hand-off folder outside the project (the project folder is managed by Scion)`, 'E_INVALID', out);
  const steps = req.settings.steps ?? 200;
  return jobs.start({
    kind: 'handoff',
    uses: [model.id, data.id, ...(val ? [val.id] : [])],
    title: `Hand off ${model.name} to PyTorch (${steps} steps) in ${out}`,
    spec: {
      kind: 'handoff',
      options: {
        ...req.settings,
        model: model.path,
        data: datasetSpec(data),
        ...(val ? { val: datasetSpec(val) } : {}),
        out,
        steps,
        ...(req.maskRamp !== undefined ? { maskRamp: req.maskRamp } : {}),
        force: req.force === true,
      },
    },
    finish: async () => undefined,
  });
}

/** Imports the run of a hand-off folder (or a run folder) into the open project; returns its session. */
export async function importHandoffRun(project: Project, dir: string): Promise<{ training: TrainingEntry; changed: boolean }> {
  const r = await importRun(project.dir, dir);
  const changed = await project.refresh();
  const id: Id = r.training.id;
  return { training: project.get('trainings', id), changed };
}
