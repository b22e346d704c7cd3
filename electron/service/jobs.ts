/**
 * Jobs of an open project: each is a record in jobs/<id>/entry.json (what it is, its status,
 * the spec to run it again) plus its log in jobs/<id>/log.txt. This connects the runner's
 * worker processes to the project: progress and metrics go out as events, the outcome is
 * turned into entries by the job's `finish`, and then its status is saved and announced.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Id, JobEvent, JobInfo, JobKind, MetricPoint } from '../shared/contract.ts';
import { ScionError, errorMessage } from '../engine/errors.ts';
import type { FromWorker, JobSpec, WorkerMetric } from '../jobs/messages.ts';
import type { JobOutcome, JobRunner } from '../jobs/runner.ts';
import type { Project } from '../store/project.ts';
import type { JobRecord } from '../store/schemas.ts';
import { jobInfo } from '../store/project.ts';

export { jobInfo };

export interface StartJob {
  kind: JobKind;
  title: string;
  entryId?: Id;
  /** Entries the job reads: they cannot be deleted while it is queued or running. */
  uses?: Id[];
  spec: JobSpec;
  /** Called when the worker starts. */
  started?(): Promise<void> | void;
  onMessage?(msg: FromWorker): void;
  /** Records what the job produced (entries). A throw here marks the job failed. */
  finish(outcome: JobOutcome, job: JobRecord): Promise<void>;
}

/** A metrics line as the UI's MetricPoint (step 0 carries only the validation loss before training); lines with neither loss are not points. */
export function toMetricPoint(m: WorkerMetric): MetricPoint | undefined {
  if (m.train_loss === undefined && m.val_loss === undefined) return undefined;
  return {
    step: m.step,
    ...(m.train_loss !== undefined ? { train_loss: m.train_loss } : {}),
    lr: m.lr ?? 0,
    tokens: m.tokens,
    time: m.time,
    ...(m.val_loss !== undefined ? { val_loss: m.val_loss } : {}),
  };
}

export class JobManager {
  private readonly pauseRequested = new Set<Id>();

  constructor(
    private readonly project: Project,
    private readonly runner: JobRunner,
    private readonly emit: (e: JobEvent) => void,
  ) {}

  /** Jobs left queued or running by a previous process (it died): marked interrupted. */
  async recover(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for (const job of this.project.jobs.values()) {
      if (job.status !== 'queued' && job.status !== 'running') continue;
      const why =
        job.kind === 'train'
          ? 'Scion stopped while this job was running; resume it from its last checkpoint'
          : 'Scion stopped while this job was running; start it again';
      out.push(await this.project.save('jobs', { ...job, status: 'interrupted', error: why, finishedAt: new Date().toISOString() }));
    }
    return out;
  }

  logFile(jobId: Id): string {
    return path.join(this.project.folder('jobs', jobId), 'log.txt');
  }

  /** The last `maxBytes` of the job's log, as lines (a job that has not logged yet has none). */
  async readLog(jobId: Id, maxBytes = 256 * 1024): Promise<{ lines: string[]; truncated: boolean }> {
    this.project.get('jobs', jobId);
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(this.logFile(jobId), 'r');
    } catch {
      return { lines: [], truncated: false };
    }
    try {
      const size = (await fh.stat()).size;
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      let lines = buf.toString('utf8').split('\n');
      if (start > 0) lines = lines.slice(1); // the first line was cut
      return { lines: lines.filter((l) => l.length > 0), truncated: start > 0 };
    } finally {
      await fh.close();
    }
  }

  /** A folder for the job's own outputs (moved into entries when it finishes). */
  workDir(jobId: Id): string {
    return path.join(this.project.folder('jobs', jobId), 'work');
  }

  newId(kind: JobKind): Id {
    return this.project.newId(`${kind} job`);
  }

  async start(s: StartJob, id: Id = this.newId(s.kind)): Promise<JobInfo> {
    let record: JobRecord = {
      id,
      kind: s.kind,
      status: 'queued',
      title: s.title,
      ...(s.entryId ? { entryId: s.entryId } : {}),
      ...(s.uses ? { uses: s.uses } : {}),
      spec: s.spec as unknown as Record<string, unknown>,
      createdAt: new Date().toISOString(),
    };
    await this.project.save('jobs', record);
    const update = async (patch: Partial<JobRecord>): Promise<void> => {
      record = { ...record, ...patch };
      await this.project.save('jobs', record);
      this.emit({ type: 'status', jobId: id, job: jobInfo(record) });
    };
    this.emit({ type: 'status', jobId: id, job: jobInfo(record) });
    const spec = { ...s.spec, tokenCacheDir: path.join(this.project.dir, '.cache', 'tokens') };
    this.runner.submit(id, spec, {
      onStart: (pid) => {
        void (async () => {
          // the entry first (a training session turns running), then the job's status event,
          // so a UI refreshing on that event reads the entry as running
          await s.started?.();
          await update({ status: 'running', ...(pid !== undefined ? { pid } : {}) });
        })().catch((e: unknown) => void this.log(id, `could not record the start: ${errorMessage(e)}`));
      },
      onMessage: (msg) => {
        if (msg.type === 'progress') {
          this.emit({ ...msg, jobId: id });
        } else if (msg.type === 'metric') {
          const point = toMetricPoint(msg.point);
          if (point) this.emit({ type: 'metric', jobId: id, point });
        } else if (msg.type === 'log') void this.log(id, msg.line);
        else if (msg.type === 'text') this.emit({ type: 'text', jobId: id, modelId: msg.modelId, piece: msg.piece });
        else if (msg.type === 'backend') void update({ backend: msg.name }).catch(() => undefined);
        else if (msg.type === 'result') this.emit({ type: 'result', jobId: id, result: msg.result });
        else if (msg.type === 'error') void this.log(id, `error: ${msg.message}`);
        s.onMessage?.(msg);
      },
      onStderr: (line) => void this.appendLog(id, line),
      onEnd: async (outcome) => {
        let final: Partial<JobRecord> = { status: outcome.status, finishedAt: new Date().toISOString() };
        if (outcome.status === 'failed' || outcome.status === 'interrupted') final.error = outcome.error;
        try {
          await s.finish(outcome, record);
        } catch (e) {
          final = { ...final, status: 'failed', error: `the job ran, but its result could not be recorded: ${errorMessage(e)}` };
        }
        if (final.error) await this.appendLog(id, `${final.status}: ${final.error}`);
        this.pauseRequested.delete(id);
        await update(final);
      },
    });
    return jobInfo(record);
  }

  /** Asks a job to stop (a training checkpoints first); `pause` marks a training paused. */
  cancel(jobId: Id, pause = false): JobInfo {
    const job = this.project.get('jobs', jobId);
    if (!this.runner.cancel(jobId)) throw new ScionError(`job '${jobId}' is not running or queued (it is ${job.status})`, 'E_JOB_STATE');
    if (pause) this.pauseRequested.add(jobId);
    return jobInfo(this.project.get('jobs', jobId));
  }

  wasPaused(jobId: Id): boolean {
    return this.pauseRequested.has(jobId);
  }

  /** True while a job that uses one of these entries is queued or running. */
  busyWith(ids: Id[]): JobRecord | undefined {
    for (const j of this.project.jobs.values()) {
      if (j.status !== 'queued' && j.status !== 'running') continue;
      if (ids.some((i) => j.entryId === i || j.uses?.includes(i))) return j;
    }
    return undefined;
  }

  private async log(jobId: Id, line: string): Promise<void> {
    this.emit({ type: 'log', jobId, line });
    await this.appendLog(jobId, line);
  }

  private async appendLog(jobId: Id, line: string): Promise<void> {
    try {
      await fs.appendFile(this.logFile(jobId), `${new Date().toISOString()} ${line}\n`);
    } catch {
      // the log is best effort
    }
  }
}
