/** Shared by the store, jobs and service tests: small datasets and waiting for jobs. */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Id, JobEvent, JobInfo } from '../../electron/shared/contract.ts';
import type { TestContext } from 'node:test';
import { createService, type ScionService } from '../../electron/service/service.ts';
import { DATA } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Writes `chars` characters of a product dataset (from `offset`) to `dir/name`, returns its path. */
export function writeText(dir: string, name: string, source: 'tinyshakespeare.txt' | 'wikitext2-valid.txt', chars: number, offset = 0): string {
  const file = path.join(dir, name);
  writeFileSync(file, readFileSync(path.join(DATA, source), 'utf8').slice(offset, offset + chars));
  return file;
}

const FINAL = ['done', 'failed', 'cancelled', 'interrupted'];

/** Resolves with the job once it reaches a final status (or the one asked for). */
export function waitForJob(svc: ScionService, jobId: Id, statuses: string[] = FINAL, timeoutMs = 60_000): Promise<JobInfo> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`job ${jobId} did not reach ${statuses.join('/')} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (job: JobInfo) => {
      clearTimeout(timer);
      off();
      resolve(job);
    };
    const off = svc.onEvent((e: JobEvent) => {
      if (e.type === 'status' && e.jobId === jobId && statuses.includes(e.job.status)) finish(e.job);
    });
    void svc.call('job.list', {}).then((jobs) => {
      const j = jobs.find((x) => x.id === jobId);
      if (j && statuses.includes(j.status)) finish(j);
    });
  });
}

/** Collects every event the service sends. */
export function recordEvents(svc: ScionService): JobEvent[] {
  const out: JobEvent[] = [];
  svc.onEvent((e) => out.push(e));
  return out;
}

/** Resolves once the job has reported a metric at `step` or later. */
export function afterStep(svc: ScionService, jobId: Id, step: number): Promise<void> {
  return new Promise((resolve) => {
    const off = svc.onEvent((e) => {
      if (e.type === 'metric' && e.jobId === jobId && e.point.step >= step) {
        off();
        resolve();
      }
    });
  });
}

/** A temporary folder and a service whose recent-projects list lies in it; both closed and removed after the test. */
export function serviceInTempDir(t: TestContext): { dir: string; svc: ScionService } {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const svc = createService({ recentFile: path.join(dir, 'recent.json') });
  t.after(() => svc.close());
  return { dir, svc };
}
