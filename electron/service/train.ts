/**
 * Training sessions: train.start creates the session (trainings/<id>/ with its run folder)
 * and queues a train job; train.resume continues a paused, cancelled, interrupted or failed
 * session from its last checkpoint; when a run completes, the trained model becomes a model
 * entry whose lineage names the session.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Id, JobInfo, MetricPoint, ModelEntry, TrainingEntry, TrainRequest, TrainSettings } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { processAlive } from '../engine/io/folder-lock.ts';
import { readModelConfig } from '../engine/models/model.ts';
import { readMetrics } from '../engine/train/metrics.ts';
import { resolveTrainOptions } from '../engine/train/options.ts';
import type { JobOutcome } from '../jobs/runner.ts';
import { datasetSpec } from '../store/datasets.ts';
import { inspectModelFolder } from '../store/models.ts';
import { trainSettingsOf } from '../store/settings.ts';
import type { Project } from '../store/project.ts';
import { type JobManager, toMetricPoint } from './jobs.ts';

/** Fills the settings the user left out with the trainer's defaults for this model. */
export async function resolveSettings(modelDir: string, s: Partial<TrainSettings>): Promise<TrainSettings> {
  const { config } = await readModelConfig(modelDir);
  const o = resolveTrainOptions({ model: modelDir, data: '', out: '', steps: s.steps ?? 200, ...withoutUndefined(s) }, config);
  return trainSettingsOf(o);
}

function withoutError(t: TrainingEntry): TrainingEntry {
  const copy = { ...t };
  delete copy.error;
  return copy;
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The run's metrics.jsonl (the trainer's layout: see electron/engine/train/run.ts). */
function metricsFile(runDir: string): string {
  return path.join(runDir, 'metrics.jsonl');
}

export async function readPoints(runDir: string): Promise<MetricPoint[]> {
  return (await readMetrics(metricsFile(runDir))).flatMap((m) => toMetricPoint(m) ?? []);
}

async function lastStep(runDir: string): Promise<number> {
  const lines = await readMetrics(metricsFile(runDir));
  return lines.length ? lines[lines.length - 1]!.step : 0;
}

export async function startTraining(project: Project, jobs: JobManager, req: TrainRequest): Promise<JobInfo> {
  const model = project.get('models', req.modelId);
  project.get('datasets', req.datasetId);
  if (req.valDatasetId) project.get('datasets', req.valDatasetId);
  const settings = await resolveSettings(model.path, req.settings);
  const id = project.newId(req.name);
  const entry = await project.create('trainings', id, async (tmp) => {
    await fs.mkdir(path.join(tmp, 'run'));
    return {
      id,
      name: req.name,
      modelId: req.modelId,
      datasetId: req.datasetId,
      ...(req.valDatasetId ? { valDatasetId: req.valDatasetId } : {}),
      settings,
      status: 'queued',
      runDir: path.join(tmp, 'run'),
      lastStep: 0,
      createdAt: new Date().toISOString(),
    } satisfies TrainingEntry;
  });
  return launch(project, jobs, entry, false);
}

export async function resumeTraining(project: Project, jobs: JobManager, trainingId: Id): Promise<JobInfo> {
  const t = project.get('trainings', trainingId);
  if (t.status === 'done') throw new ScionError(`training '${t.name}' has finished; there is nothing to resume`, 'E_JOB_STATE');
  if (t.origin === 'handoff')
    throw new ScionError(
      `training '${t.name}' ran on PyTorch from a hand-off folder; continue it there (./launch.sh --resume), then import it again`,
      'E_JOB_STATE',
    );
  if (t.status === 'queued' || t.status === 'running') throw new ScionError(`training '${t.name}' is already ${t.status}`, 'E_JOB_STATE');
  const orphan = [...project.jobs.values()].find(
    (j) =>
      j.entryId === t.id && j.status === 'interrupted' && j.pid !== undefined && Date.now() - Date.parse(j.finishedAt ?? '') < 60_000 && processAlive(j.pid),
  );
  if (orphan)
    throw new ScionError(
      `training '${t.name}': the worker of the stopped job (process ${orphan.pid}) is still saving its checkpoint; try again in a few seconds`,
      'E_JOB_STATE',
    );
  const started = existsSync(path.join(t.runDir, 'run.json'));
  return launch(project, jobs, t, started);
}

/** Sessions a dead process left queued or running: interrupted, at the step their metrics reached. */
export async function recoverTrainings(project: Project): Promise<void> {
  for (const t of [...project.trainings.values()]) {
    if (t.status !== 'queued' && t.status !== 'running') continue;
    await project.save('trainings', {
      ...t,
      status: 'interrupted',
      lastStep: await lastStep(t.runDir),
      error: 'Scion stopped while this session was training; resume it from its last checkpoint',
    });
  }
}

async function launch(project: Project, jobs: JobManager, t: TrainingEntry, resume: boolean): Promise<JobInfo> {
  const model = project.get('models', t.modelId);
  const data = project.get('datasets', t.datasetId);
  const val = t.valDatasetId ? project.get('datasets', t.valDatasetId) : undefined;
  await project.save('trainings', { ...withoutError(t), status: 'queued' });
  const update = async (patch: Partial<TrainingEntry>) => {
    const cur = project.get('trainings', t.id);
    await project.save('trainings', { ...cur, ...patch });
  };
  const jobId = jobs.newId('train');
  return jobs.start(
    {
      kind: 'train',
      uses: [model.id, data.id, ...(val ? [val.id] : [])],
      title: `${resume ? 'Resume' : 'Train'} ${t.name} (${model.name}, ${t.settings.steps} steps)`,
      entryId: t.id,
      spec: {
        kind: 'train',
        runDir: t.runDir,
        modelDir: model.path,
        dataFile: datasetSpec(data),
        ...(val ? { valFile: datasetSpec(val) } : {}),
        settings: t.settings,
        resume,
      },
      started: () => update({ status: 'running' }),
      onMessage: (msg) => {
        if (msg.type !== 'metric') return;
        const cur = project.trainings.get(t.id);
        if (!cur) return;
        if (msg.point.step === 0 && msg.point.val_loss !== undefined) void update({ initialValLoss: msg.point.val_loss });
        else project.trainings.set(t.id, { ...cur, lastStep: msg.point.step });
      },
      finish: (outcome) => finishTraining(project, jobs, t.id, jobId, outcome),
    },
    jobId,
  );
}

async function finishTraining(project: Project, jobs: JobManager, trainingId: Id, jobId: Id, outcome: JobOutcome): Promise<void> {
  const t = project.get('trainings', trainingId);
  const step = await lastStep(t.runDir);
  const base = withoutError(t);
  if (outcome.status === 'done' && outcome.result.kind === 'train' && outcome.result.modelDir) {
    const r = outcome.result;
    const parent = project.get('models', t.modelId);
    const info = await inspectModelFolder(r.modelDir!);
    const modelId = project.newId(`${t.name} model`);
    await project.create('models', modelId, async (tmp) => {
      await fs.rename(r.modelDir!, path.join(tmp, 'model'));
      return {
        id: modelId,
        kind: 'trained',
        name: `${t.name}`.slice(0, 80),
        path: path.join(tmp, 'model'),
        referenced: false,
        shape: info.shape,
        params: info.params,
        createdAt: new Date().toISOString(),
        lineage: { parent: parent.id, trainingId: t.id, seed: t.settings.seed },
      } satisfies ModelEntry;
    });
    await project.save('trainings', {
      ...base,
      status: 'done',
      lastStep: step,
      resultModelId: modelId,
      ...(r.finalValLoss !== undefined ? { finalValLoss: r.finalValLoss } : {}),
    });
  } else if (outcome.status === 'cancelled') {
    await project.save('trainings', { ...base, status: jobs.wasPaused(jobId) ? 'paused' : 'cancelled', lastStep: step });
  } else if (outcome.status === 'failed' || outcome.status === 'interrupted') {
    await project.save('trainings', { ...base, status: outcome.status, lastStep: step, error: outcome.error });
  } else {
    await project.save('trainings', { ...base, status: 'failed', lastStep: step, error: 'the run ended without a trained model' });
  }
}
