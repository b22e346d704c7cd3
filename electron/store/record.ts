/**
 * `--project <dir>` for the CLI: records what `scion eval`, `scion grow` and `scion train`
 * did in a project, so the app shows it. Folders and files the CLI used are referenced
 * where they are (never copied, moved or deleted); the project is created if the folder is
 * new or empty.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DatasetEntry, EvalMetrics, EvaluationEntry, GrowthCheck, ModelEntry, TrainingEntry } from '../shared/contract.ts';
import { makeDirs } from '../engine/io/make-dirs.ts';
import { parseDataSpec } from '../engine/train/data.ts';
import { readRunConfig } from '../engine/train/run.ts';
import { PROJECT_FILE } from './layout.ts';
import { trainSettingsOf } from './settings.ts';
import { inspectDatasetFile } from './datasets.ts';
import { inspectModelFolder } from './models.ts';
import { Project, refuseSystemFolder } from './project.ts';
import { NAME_PATTERN } from './schemas.ts';
import { stampChange, withWriteLock } from './write-lock.ts';

/** A valid entry name from a file or folder name. */
export function nameFrom(s: string): string {
  let n = s
    .replace(/[^\p{L}\p{N} ._+()-]+/gu, '-')
    .trim()
    .slice(0, 80);
  if (!/^[\p{L}\p{N}]/u.test(n)) n = `x${n}`.slice(0, 80);
  return NAME_PATTERN.test(n) ? n : 'unnamed';
}

/** Opens the project in `dir`, creating it when the folder is new or empty. */
export async function openOrCreateProject(dir: string): Promise<Project> {
  const abs = path.resolve(dir);
  if (existsSync(path.join(abs, PROJECT_FILE))) return Project.open(abs);
  return Project.create(abs, nameFrom(path.basename(abs)));
}

/**
 * Runs `record` on the project in `dir` (created when new or empty) under the project's
 * write lock: the entries are read after the lock is taken, so a CLI, another CLI and the
 * open app never add the same folder twice or lose each other's entries; the open app is
 * told to re-read. A folder this call made for a project that could not be created is removed.
 */
export async function withProjectForWriting<T>(dir: string, record: (project: Project) => Promise<T>): Promise<T> {
  const abs = path.resolve(dir);
  refuseSystemFolder(abs);
  const existed = existsSync(abs);
  await makeDirs(abs);
  try {
    return await withWriteLock(abs, async () => {
      const project = await openOrCreateProject(abs);
      const r = await record(project);
      await stampChange(abs);
      return r;
    });
  } catch (e) {
    if (!existed) await fs.rmdir(abs).catch(() => undefined); // only when still empty
    throw e;
  }
}

/** The model entry for a folder: the one whose path it is, or a new referenced entry. */
export async function modelEntryFor(project: Project, dir: string, extra: Partial<ModelEntry> = {}): Promise<ModelEntry> {
  const abs = path.resolve(dir);
  const known = [...project.models.values()].find((m) => m.path === abs);
  if (known) return known;
  const info = await inspectModelFolder(abs);
  const id = project.newId(path.basename(abs));
  return project.create('models', id, async () => ({
    id,
    kind: 'source',
    name: nameFrom(path.basename(abs)),
    path: abs,
    referenced: true,
    shape: info.shape,
    params: info.params,
    createdAt: new Date().toISOString(),
    ...extra,
  }));
}

/**
 * The dataset entry for a spec: the one of that file and that fraction (`file#0.9-1` is the last
 * 10%, a different dataset from `file#0-0.9`), or a new referenced one with its fraction.
 */
export async function datasetEntryFor(project: Project, spec: string): Promise<DatasetEntry> {
  const d = existsSync(spec) ? { file: spec, from: 0, to: 1 } : parseDataSpec(spec); // a file whose name has a '#' is that file
  const split = d.from === 0 && d.to === 1 ? undefined : { from: d.from, to: d.to };
  const abs = path.resolve(d.file);
  const known = [...project.datasets.values()].find((e) => e.path === abs && e.split?.from === split?.from && e.split?.to === split?.to);
  if (known) return known;
  const info = await inspectDatasetFile(abs);
  const id = project.newId(path.basename(abs));
  return project.create('datasets', id, async () => ({
    id,
    name: nameFrom(path.basename(abs) + (split ? ` ${split.from}-${split.to}` : '')),
    path: abs,
    referenced: true,
    ...(split ? { split } : {}),
    ...info,
    createdAt: new Date().toISOString(),
  }));
}

export async function recordEvaluation(
  projectDir: string,
  r: { modelDir: string; dataFile: string; metrics: EvalMetrics; backend: string },
): Promise<EvaluationEntry> {
  return withProjectForWriting(projectDir, async (project) => {
    const model = await modelEntryFor(project, r.modelDir);
    const data = await datasetEntryFor(project, r.dataFile);
    const id = project.newId(`${model.name} on ${data.name}`);
    return project.create('evaluations', id, async () => ({
      id,
      modelId: model.id,
      datasetId: data.id,
      metrics: r.metrics,
      backend: r.backend,
      createdAt: new Date().toISOString(),
    }));
  });
}

export async function recordGrowth(
  projectDir: string,
  r: { sourceDir: string; outDir: string; method: string; options: Record<string, unknown>; seed: number; check?: GrowthCheck },
): Promise<ModelEntry> {
  return withProjectForWriting(projectDir, async (project) => {
    const source = await modelEntryFor(project, r.sourceDir);
    const out = path.resolve(r.outDir);
    const existing = [...project.models.values()].find((m) => m.path === out);
    if (existing) await project.remove('models', existing.id); // `--force` replaced that folder: the old entry described another model
    return modelEntryFor(project, out, {
      kind: 'grown',
      lineage: { parent: source.id, method: r.method, options: r.options, seed: r.seed, ...(r.check ? { growth: r.check } : {}) },
    });
  });
}

/** Records a `scion train` run (new or resumed) by its run folder, and its trained model when it completed. */
export async function recordTraining(
  projectDir: string,
  runDir: string,
  r: {
    completed: boolean;
    step: number;
    finalModel?: string;
    initialValLoss?: number;
    finalValLoss?: number;
    /** Where the model and data are now, when not where run.json says (a run trained elsewhere). */
    modelDir?: string;
    dataSpec?: string;
    valSpec?: string;
    origin?: TrainingEntry['origin'];
    /** The session's name (default: the run folder's). */
    name?: string;
  },
): Promise<TrainingEntry> {
  return withProjectForWriting(projectDir, async (project) => {
    const abs = path.resolve(runDir);
    const o = (await readRunConfig(abs)).options;
    const model = await modelEntryFor(project, r.modelDir ?? o.model);
    const data = await datasetEntryFor(project, r.dataSpec ?? o.data);
    const valSpec = r.valSpec ?? o.val;
    const val = valSpec ? await datasetEntryFor(project, valSpec) : undefined;
    const known = [...project.trainings.values()].find((t) => t.runDir === abs);
    const id = known?.id ?? project.newId(path.basename(abs));
    const settings = trainSettingsOf(o);
    let entry: TrainingEntry = {
      id,
      name: known?.name ?? nameFrom(r.name ?? path.basename(abs)),
      modelId: model.id,
      datasetId: data.id,
      ...(val ? { valDatasetId: val.id } : {}),
      settings,
      status: r.completed ? 'done' : 'paused',
      runDir: abs,
      lastStep: r.step,
      ...(r.initialValLoss !== undefined ? { initialValLoss: r.initialValLoss } : {}),
      ...(r.finalValLoss !== undefined ? { finalValLoss: r.finalValLoss } : {}),
      ...(r.origin ? { origin: r.origin } : {}),
      createdAt: known?.createdAt ?? new Date().toISOString(),
    };
    if (r.completed && r.finalModel) {
      const trained = await modelEntryFor(project, r.finalModel, {
        kind: 'trained',
        name: entry.name,
        lineage: { parent: model.id, trainingId: id, seed: o.seed },
      });
      entry = { ...entry, resultModelId: trained.id };
    }
    return known ? project.save('trainings', entry) : project.create('trainings', id, async () => entry);
  });
}
