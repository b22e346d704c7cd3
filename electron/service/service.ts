/**
 * The service the UI talks to (Electron IPC in the app, the WebSocket of `scion serve`):
 * `call(method, params)` for every method of the `ScionApi` contract, `onEvent` for job
 * events. Every call's params are checked by the method's zod schema before anything
 * touches the disk. Heavy work (grow, train, evaluate) runs in worker processes through
 * the job runner; this process only reads and writes small JSON entries.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiMethod, ApiParams, ApiResult, JobEvent, ProjectState } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { growthMethods } from '../engine/growth/methods.ts';
import type { WorkerLauncher } from '../jobs/launcher.ts';
import { JobRunner } from '../jobs/runner.ts';
import { addDataset } from '../store/datasets.ts';
import { type LockOptions, type ProjectLock, lockProject } from '../store/lock.ts';
import { importModel } from '../store/models.ts';
import { Project } from '../store/project.ts';
import { apiParamSchemas, parseOrThrow } from '../store/schemas.ts';
import { deleteDataset, deleteModel, exportModel } from './entries.ts';
import { startEvaluate } from './evaluate.ts';
import { EventHub } from './events.ts';
import { experimentResults, startExperiment } from './experiment.ts';
import { previewGrowth, startGrow } from './grow.ts';
import { JobManager, jobInfo } from './jobs.ts';
import { addRecent, defaultRecentFile, readRecent } from './recent.ts';
import { startSample } from './sample.ts';
import { watchChanges } from './watch-changes.ts';
import { readPoints, recoverTrainings, resumeTraining, startTraining } from './train.ts';

export interface ServiceOptions {
  mode?: 'electron' | 'browser';
  /** A project to open at start (`scion serve --project DIR`). */
  projectDir?: string;
  /** Where the recent-projects list is kept (default: ~/.config/scion/recent-projects.json). */
  recentFile?: string;
  /** How workers start: forked Node (default) or Electron's utilityProcess. */
  launcher?: WorkerLauncher;
  workerEntry?: string;
  /** Worker jobs run at once (default 1: one accelerator-bound job at a time). */
  concurrency?: number;
  /** The tfjs backend workers use (default: SCION_BACKEND, else automatic). */
  backend?: string;
  /** How long a cancelled job may take to checkpoint before it is killed (ms). */
  cancelGraceMs?: number;
  /** The project lock's refresh and expiry (tests shorten them). */
  lock?: LockOptions;
}

export interface ScionService {
  call<M extends ApiMethod>(method: M, params: unknown): Promise<ApiResult<M>>;
  onEvent(listener: (e: JobEvent) => void): () => void;
  /** Resolves once the start-up project (if any) is open or has failed to open. */
  ready: Promise<void>;
  /** Stops running jobs (a training checkpoints first) and waits for them. */
  close(): Promise<void>;
}

/** Scion's version: the nearest package.json named 'scion' above this file (source tree or built app). */
function appVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'scion' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: look one folder up
    }
    dir = path.dirname(dir);
  }
  return '0.0.0';
}

type Handlers = { [M in ApiMethod]: (params: ApiParams<M>) => Promise<ApiResult<M>> };

export function createService(opts: ServiceOptions = {}): ScionService {
  const events = new EventHub();
  const recentFile = opts.recentFile ?? defaultRecentFile();
  const runner = new JobRunner({
    ...(opts.launcher ? { launcher: opts.launcher } : {}),
    ...(opts.workerEntry ? { entry: opts.workerEntry } : {}),
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    ...(opts.backend ? { backend: opts.backend } : {}),
    ...(opts.cancelGraceMs ? { cancelGraceMs: opts.cancelGraceMs } : {}),
  });
  let open: { project: Project; jobs: JobManager; lock: ProjectLock; stopWatching: () => void } | undefined;
  let startupError: string | undefined;
  let closed = false;

  const current = () => {
    if (!open) throw new ScionError(`no project is open${startupError ? ` (${startupError})` : ''}: create or open one first`, 'E_NO_PROJECT');
    return open;
  };

  /** Switching projects waits for the open one's jobs (checked before anything is created or opened). */
  function refuseWhileBusy(): void {
    if (open && [...open.project.jobs.values()].some((j) => j.status === 'queued' || j.status === 'running')) {
      throw new ScionError(`project ${open.project.file.name} still has jobs queued or running; cancel them or wait before switching projects`, 'E_JOB_STATE');
    }
  }

  async function switchTo(project: Project): Promise<ProjectState> {
    refuseWhileBusy();
    const lock = open?.project.dir === project.dir ? open.lock : await lockProject(project.dir, opts.lock);
    if (open && open.lock !== lock) await open.lock.release();
    open?.stopWatching();
    const jobs = new JobManager(project, runner, (e) => events.emit(e));
    await jobs.recover();
    await recoverTrainings(project);
    // a CLI run with --project writes entries while the project is open here: re-read them and tell the UI
    const stopWatching = watchChanges(project, () => events.emit({ type: 'project-changed', dir: project.dir }));
    open = { project, jobs, lock, stopWatching };
    startupError = undefined;
    await addRecent(recentFile, project.dir);
    return project.state();
  }

  const handlers: Handlers = {
    'app.info': async () => ({ version: appVersion(), backend: opts.backend ?? process.env['SCION_BACKEND'] ?? 'auto', mode: opts.mode ?? 'browser' }),
    'project.create': async (p) => {
      refuseWhileBusy();
      return switchTo(await Project.create(p.dir, p.name));
    },
    'project.open': async (p) => {
      refuseWhileBusy();
      return switchTo(await Project.open(p.dir));
    },
    'project.recent': async () => readRecent(recentFile),
    'project.state': async () => {
      const { project } = current();
      await project.reload();
      return project.state();
    },
    'model.import': async (p) => importModel(current().project, p),
    'model.delete': async (p) => {
      const { project, jobs } = current();
      await project.transaction(() => deleteModel(project, jobs, p.id));
      return project.state();
    },
    'model.export': async (p) => ({ dir: await exportModel(current().project, p.id, p.dir) }),
    'dataset.add': async (p) => addDataset(current().project, p),
    'dataset.delete': async (p) => {
      const { project, jobs } = current();
      await project.transaction(() => deleteDataset(project, jobs, p.id));
      return project.state();
    },
    'grow.methods': async () => growthMethods(),
    'grow.preview': async (p) => previewGrowth(current().project, p),
    'grow.start': async (p) => startGrow(current().project, current().jobs, p),
    'evaluate.start': async (p) => startEvaluate(current().project, current().jobs, p),
    'train.start': async (p) => startTraining(current().project, current().jobs, p),
    'train.resume': async (p) => resumeTraining(current().project, current().jobs, p.trainingId),
    'train.metrics': async (p) => readPoints(current().project.get('trainings', p.trainingId).runDir),
    'job.cancel': async (p) => current().jobs.cancel(p.jobId, p.pause ?? false),
    'job.list': async () => [...current().project.jobs.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map(jobInfo),
    'job.log': async (p) => current().jobs.readLog(p.jobId),
    'experiment.start': async (p) => startExperiment(current().project, current().jobs, p),
    'experiment.results': async (p) => experimentResults(current().project, p.jobId),
    'sample.start': async (p) => startSample(current().project, current().jobs, p),
  };

  const ready = opts.projectDir
    ? Project.open(opts.projectDir)
        .then(switchTo)
        .then(
          () => undefined,
          (e: unknown) => {
            startupError = e instanceof Error ? e.message : String(e);
          },
        )
    : Promise.resolve();

  return {
    ready,
    async call<M extends ApiMethod>(method: M, params: unknown): Promise<ApiResult<M>> {
      if (closed) throw new ScionError('the Scion service is closed', 'E_CLOSED');
      if (typeof method !== 'string' || !Object.hasOwn(apiParamSchemas, method)) throw new ScionError(`unknown method '${String(method)}'`, 'E_UNKNOWN_METHOD');
      await ready;
      const schema: z.ZodType = apiParamSchemas[method];
      const valid = parseOrThrow(schema, params ?? {}, method) as ApiParams<M>;
      return (handlers[method] as (p: ApiParams<M>) => Promise<ApiResult<M>>)(valid);
    },
    onEvent: (listener) => events.on(listener),
    async close() {
      if (closed) return;
      closed = true;
      // running trainings stop at a checkpoint and show as paused (resumable) next time
      for (const j of open?.project.jobs.values() ?? []) {
        if (j.status !== 'running' && j.status !== 'queued') continue;
        try {
          open!.jobs.cancel(j.id, true);
        } catch {
          // already ending
        }
      }
      open?.stopWatching();
      await runner.close();
      await open?.project.flush();
      await open?.lock.release();
    },
  };
}
