/**
 * Deleting and exporting entries. A delete removes only what the project created (the
 * entry's folder; a referenced model or dataset stays where it is, untouched), and is
 * refused while something else still depends on the entry.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Id } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { atomicWriteDir } from '../engine/io/atomic.ts';
import { makeDirs } from '../engine/io/make-dirs.ts';
import { isInside } from '../store/layout.ts';
import { copyModelFolder } from '../store/models.ts';
import type { Project } from '../store/project.ts';
import type { JobManager } from './jobs.ts';

function refuseWhileBusy(jobs: JobManager, id: Id, what: string): void {
  const job = jobs.busyWith([id]);
  if (job) throw new ScionError(`${what} '${id}' is in use by job '${job.id}' (${job.title}); cancel it or wait for it to finish`, 'E_IN_USE');
}

export async function deleteModel(project: Project, jobs: JobManager, id: Id): Promise<void> {
  const m = project.get('models', id);
  refuseWhileBusy(jobs, id, 'model');
  const children = [...project.models.values()].filter((x) => x.lineage?.parent === id).map((x) => x.name);
  if (children.length) throw new ScionError(`model '${m.name}' is the parent of ${children.map((c) => `'${c}'`).join(', ')}; delete those first`, 'E_IN_USE');
  const trainings = [...project.trainings.values()].filter((t) => t.modelId === id).map((t) => t.name);
  if (trainings.length)
    throw new ScionError(
      `model '${m.name}' is used by training session${trainings.length > 1 ? 's' : ''} ${trainings.map((c) => `'${c}'`).join(', ')}; delete those first`,
      'E_IN_USE',
    );
  for (const e of [...project.evaluations.values()]) if (e.modelId === id) await project.remove('evaluations', e.id);
  await project.remove('models', id);
}

export async function deleteDataset(project: Project, jobs: JobManager, id: Id): Promise<void> {
  const d = project.get('datasets', id);
  refuseWhileBusy(jobs, id, 'dataset');
  const trainings = [...project.trainings.values()].filter((t) => t.datasetId === id || t.valDatasetId === id).map((t) => t.name);
  if (trainings.length)
    throw new ScionError(
      `dataset '${d.name}' is used by training session${trainings.length > 1 ? 's' : ''} ${trainings.map((c) => `'${c}'`).join(', ')}; delete those first`,
      'E_IN_USE',
    );
  for (const e of [...project.evaluations.values()]) if (e.datasetId === id) await project.remove('evaluations', e.id);
  await project.remove('datasets', id);
}

/** Deletes a training session and its run folder; refused while it trains. A model it produced stays (its lineage keeps the id). */
export async function deleteTraining(project: Project, jobs: JobManager, id: Id): Promise<void> {
  const t = project.get('trainings', id);
  refuseWhileBusy(jobs, id, 'training session');
  if (t.status === 'queued' || t.status === 'running') throw new ScionError(`training session '${t.name}' is ${t.status}; cancel it first`, 'E_IN_USE');
  await project.remove('trainings', id);
}

/** Deletes a finished job and its folder (an experiment's runs and results). */
export async function deleteJob(project: Project, id: Id): Promise<void> {
  const j = project.get('jobs', id);
  if (j.status === 'queued' || j.status === 'running') throw new ScionError(`job '${j.title}' is ${j.status}; cancel it first`, 'E_IN_USE');
  if (j.kind === 'train' && j.entryId && project.trainings.has(j.entryId))
    throw new ScionError(`job '${j.title}' belongs to a training session; delete the session instead`, 'E_IN_USE');
  await project.remove('jobs', id);
}

/** Writes the model as a Hugging Face folder at `dir` (new, or empty), outside the project. */
export async function exportModel(project: Project, id: Id, dir: string): Promise<string> {
  const m = project.get('models', id);
  const out = path.resolve(dir);
  if (isInside(project.dir, out))
    throw new ScionError(`${out}: export to a folder outside the project (the project folder is managed by Scion)`, 'E_INVALID', out);
  if (isInside(m.path, out) || isInside(out, m.path)) throw new ScionError(`${out}: overlaps the model's own folder ${m.path}`, 'E_INVALID', out);
  if (existsSync(out)) {
    const st = await fs.stat(out);
    if (!st.isDirectory() || (await fs.readdir(out)).length > 0)
      throw new ScionError(`${out}: already exists and is not an empty folder; pick a new folder to export to`, 'E_EXISTS', out);
  }
  if (!existsSync(m.path)) throw new ScionError(`${m.path}: the model's folder is missing`, 'E_NOT_A_MODEL', m.path);
  await makeDirs(path.dirname(out));
  await atomicWriteDir(out, async (tmp) => {
    await copyModelFolder(m.path, tmp);
    const growth = path.join(m.path, 'growth.json');
    if (existsSync(growth)) await fs.copyFile(growth, path.join(tmp, 'growth.json'));
  });
  return out;
}
