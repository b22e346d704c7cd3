/**
 * Jobs and their live events: status, progress (step, loss, ETA), metric points per
 * training session, and results. Fed by the bridge's event stream, never by polling.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Id, JobEvent, JobInfo, MetricPoint } from '../../../electron/shared/contract.ts';
import { mergePoints } from '../lib/curves.ts';
import { useAppStore } from './app.ts';

export type Progress = Extract<JobEvent, { type: 'progress' }>;

const FINISHED: ReadonlyArray<JobInfo['status']> = ['done', 'failed', 'cancelled', 'interrupted'];

export const useJobsStore = defineStore('jobs', () => {
  const jobs = ref<Record<Id, JobInfo>>({});
  const progress = ref<Record<Id, Progress>>({});
  const results = ref<Record<Id, unknown>>({});
  const logs = ref<Record<Id, string[]>>({});
  /** Sampled text per job, per model, as it streams. */
  const samples = ref<Record<Id, Record<Id, string>>>({});
  /** Metric points per training session id. */
  const metrics = ref<Record<Id, MetricPoint[]>>({});
  /** Metric points that arrived before their job's entry id was known. */
  const orphanPoints: Record<Id, MetricPoint[]> = {};
  const finishedWaiters = new Map<Id, Array<(job: JobInfo) => void>>();
  /** Per finished job: the one project refresh that picks up what it recorded. */
  const refreshes = new Map<Id, Promise<void>>();

  function track(job: JobInfo): void {
    jobs.value[job.id] = job;
    const orphans = orphanPoints[job.id];
    if (orphans && job.entryId) {
      addPoints(job.entryId, orphans);
      delete orphanPoints[job.id];
    }
    if (FINISHED.includes(job.status)) {
      const refreshed = refreshes.get(job.id) ?? Promise.resolve();
      for (const w of finishedWaiters.get(job.id) ?? []) void refreshed.then(() => w(job));
      finishedWaiters.delete(job.id);
    }
  }

  function addPoints(trainingId: Id, points: MetricPoint[]): void {
    metrics.value[trainingId] = mergePoints(metrics.value[trainingId] ?? [], points);
  }

  function handle(e: JobEvent): void {
    const app = useAppStore();
    switch (e.type) {
      case 'status': {
        const was = jobs.value[e.jobId]?.status;
        if (FINISHED.includes(e.job.status) && was !== e.job.status) {
          if (e.job.status === 'failed') app.error = `${e.job.title} failed: ${e.job.error ?? 'unknown error'}`;
          refreshes.set(e.jobId, app.refresh());
        } else if (e.job.status === 'running' && was !== 'running') void app.refresh();
        track(e.job);
        break;
      }
      case 'progress':
        progress.value[e.jobId] = e;
        break;
      case 'metric': {
        const entry = jobs.value[e.jobId]?.entryId;
        if (entry) addPoints(entry, [e.point]);
        else (orphanPoints[e.jobId] ??= []).push(e.point);
        break;
      }
      case 'log':
        (logs.value[e.jobId] ??= []).push(e.line);
        break;
      case 'text': {
        const byModel = (samples.value[e.jobId] ??= {});
        byModel[e.modelId] = (byModel[e.modelId] ?? '') + e.piece;
        break;
      }
      case 'result':
        results.value[e.jobId] = e.result;
        break;
      case 'project-changed': // a CLI with --project wrote entries
        if (e.dir === app.state?.project.dir) void app.refresh();
        break;
    }
  }

  /** Drops a deleted job. */
  function forget(jobId: Id): void {
    delete jobs.value[jobId];
    delete progress.value[jobId];
    delete results.value[jobId];
    delete logs.value[jobId];
    refreshes.delete(jobId);
  }

  /** Resolves when the job reaches a final status and the project state holds what it recorded. */
  function finished(jobId: Id): Promise<JobInfo> {
    const job = jobs.value[jobId];
    if (job && FINISHED.includes(job.status)) return (refreshes.get(jobId) ?? Promise.resolve()).then(() => job);
    return new Promise((resolve) => {
      const list = finishedWaiters.get(jobId) ?? [];
      list.push(resolve);
      finishedWaiters.set(jobId, list);
    });
  }

  async function loadMetrics(trainingId: Id): Promise<void> {
    const points = await useAppStore().attempt('train.metrics', { trainingId });
    if (points) addPoints(trainingId, points);
  }

  /** Picks up the jobs the engine side already knows (after a reload or a project switch). */
  async function sync(): Promise<void> {
    const app = useAppStore();
    if (!app.state) return;
    for (const j of (await app.attempt('job.list', {})) ?? []) track(j);
  }

  /** The backend the most recent job ran on (what `auto` resolved to), once one has started. */
  const lastBackend = computed(
    () =>
      Object.values(jobs.value)
        .filter((j) => j.backend)
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .at(-1)?.backend,
  );

  function activeFor(entryId: Id): JobInfo | undefined {
    return Object.values(jobs.value).find((j) => j.entryId === entryId && (j.status === 'running' || j.status === 'queued'));
  }

  return { jobs, progress, results, logs, samples, metrics, lastBackend, track, forget, handle, finished, loadMetrics, sync, activeFor };
});
