/**
 * Crashes during training. (1) The worker is SIGKILLed mid-run: the job and the session are
 * interrupted, resume finishes the run, the metrics have every step exactly once, and the
 * resumed losses equal those of a run that was never stopped. (2) The app process itself is
 * SIGKILLed mid-run: the next start marks the job interrupted and the session resumes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Id } from '../../electron/shared/contract.ts';
import { type ScionService, createService } from '../../electron/service/service.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { serviceInTempDir, waitForJob, writeText } from './util.ts';

const STEPS = 24;
const SETTINGS = { steps: STEPS, batch: 2, ctx: 32, checkpointEvery: 4, evalEvery: 100 };
const ALL_STEPS = Array.from({ length: STEPS }, (_, i) => i + 1);

async function setUp(dir: string, svc: ScionService) {
  await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Crash' });
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'source', copy: true });
  const data = await svc.call('dataset.add', { path: writeText(dir, 'data.txt', 'tinyshakespeare.txt', 30_000), name: 'data', copy: true });
  return { model, data };
}

function workerPid(projectDir: string, jobId: Id): number {
  return (JSON.parse(readFileSync(path.join(projectDir, 'jobs', jobId, 'entry.json'), 'utf8')) as { pid: number }).pid;
}

function metricSteps(svc: ScionService, trainingId: Id): Promise<number[]> {
  return svc.call('train.metrics', { trainingId }).then((points) => points.map((p) => p.step));
}

function waitUntilGone(pid: number, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      try {
        process.kill(pid, 0);
      } catch {
        return resolve();
      }
      if (Date.now() - start > timeoutMs) return reject(new Error(`process ${pid} is still running`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

test('a worker killed mid-training: interrupted, resumed, no gap or duplicate, same losses', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const { model, data } = await setUp(dir, svc);
  const projectDir = path.join(dir, 'proj');

  const job = await svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 'Killed', settings: SETTINGS });
  const trainingId = job.entryId!;
  const killedAt = await new Promise<number>((resolve) => {
    const off = svc.onEvent((e) => {
      if (e.type === 'metric' && e.jobId === job.id && e.point.step >= 5) {
        off();
        process.kill(workerPid(projectDir, job.id), 'SIGKILL');
        resolve(e.point.step);
      }
    });
  });
  const interrupted = await waitForJob(svc, job.id);
  assert.equal(interrupted.status, 'interrupted');
  assert.match(interrupted.error!, /signal SIGKILL/);
  let state = await svc.call('project.state', {});
  const session = state.trainings.find((x) => x.id === trainingId)!;
  assert.equal(session.status, 'interrupted');
  assert.ok(session.lastStep >= killedAt, `lastStep ${session.lastStep} >= ${killedAt}`);

  const resumed = await svc.call('train.resume', { trainingId });
  const resumedSteps: number[] = [];
  svc.onEvent((e) => {
    if (e.type === 'metric' && e.jobId === resumed.id) resumedSteps.push(e.point.step);
  });
  assert.equal((await waitForJob(svc, resumed.id)).status, 'done');
  state = await svc.call('project.state', {});
  assert.equal(state.trainings.find((x) => x.id === trainingId)!.status, 'done');
  assert.deepEqual(await metricSteps(svc, trainingId), ALL_STEPS, 'every step exactly once');
  // resumed after the last checkpoint (every 4 steps) the killed worker wrote, not from 0 and not past what it reached
  assert.ok(resumedSteps[0]! % 4 === 1 && resumedSteps[0]! <= session.lastStep + 1 && resumedSteps[0]! > 1, `resumed at ${resumedSteps[0]}`);
  assert.deepEqual(resumedSteps, ALL_STEPS.slice(resumedSteps[0]! - 1));

  // an uninterrupted run with the same settings has the same losses, step for step
  const clean = await svc.call('train.start', { modelId: model.id, datasetId: data.id, name: 'Clean', settings: SETTINGS });
  assert.equal((await waitForJob(svc, clean.id)).status, 'done');
  const a = await svc.call('train.metrics', { trainingId });
  const b = await svc.call('train.metrics', { trainingId: clean.entryId! });
  for (let i = 0; i < STEPS; i++)
    assert.ok(Math.abs(a[i]!.train_loss! - b[i]!.train_loss!) < 1e-5, `step ${i + 1}: ${a[i]!.train_loss} vs ${b[i]!.train_loss}`);
});

test('the app killed mid-training: the next start marks the job interrupted and resume finishes it', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const recentFile = path.join(dir, 'recent.json');
  const setup = createService({ recentFile });
  const { model, data } = await setUp(dir, setup);
  await setup.close();
  const projectDir = path.join(dir, 'proj');

  const app = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'main-process.ts'), projectDir, recentFile, model.id, data.id], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  app.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    app.stdout.on('data', (d: Buffer) => {
      if (/step [3-9]/.test(d.toString())) {
        app.kill('SIGKILL');
        resolve();
      }
    });
    app.on('exit', (code) => code !== null && reject(new Error(`the app exited by itself (${code}): ${stderr}`)));
  });
  await new Promise((r) => app.once('exit', r));

  const svc = createService({ recentFile });
  t.after(() => svc.close());
  let state = await svc.call('project.open', { dir: projectDir });
  const job = state.jobs.find((j) => j.kind === 'train')!;
  assert.equal(job.status, 'interrupted');
  assert.match(job.error!, /resume it from its last checkpoint/);
  const session = state.trainings[0]!;
  assert.equal(session.status, 'interrupted');
  // the orphaned worker saw its parent go, checkpointed and stopped by itself
  await waitUntilGone(workerPid(projectDir, job.id));

  const resumed = await svc.call('train.resume', { trainingId: session.id });
  assert.equal((await waitForJob(svc, resumed.id)).status, 'done');
  state = await svc.call('project.state', {});
  assert.equal(state.trainings[0]!.status, 'done');
  assert.ok(state.models.some((m) => m.kind === 'trained' && m.lineage?.trainingId === session.id));
  assert.deepEqual(await metricSteps(svc, session.id), ALL_STEPS);
});
