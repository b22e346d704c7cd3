/**
 * The hand-off through the service (what the app's buttons call, over IPC or `scion serve`'s
 * WebSocket): model.handoff writes `scion handoff`'s folder in a job, with the session's
 * settings and the project's model and datasets; its errors name the file; training.import
 * refuses a folder that has not trained and records the PyTorch run (Debian's python3-torch)
 * as a training session of the model, with its curve, announced to a second client.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { HandoffManifest } from '../../electron/engine/handoff/write-handoff.ts';
import type { HandoffSummary, JobEvent } from '../../electron/shared/contract.ts';
import { readMetrics } from '../../electron/engine/train/metrics.ts';
import { findTorchPython } from '../handoff/python.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { serviceInTempDir, waitForJob, writeText } from './util.ts';

const { python, skip } = findTorchPython();
const SETTINGS = { steps: 8, batch: 2, ctx: 32, evalEvery: 4, checkpointEvery: 4, lr: 1e-3, warmup: 2, seed: 3 };

test('model.handoff writes the folder in a job; training.import records its PyTorch run as a session of the model', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const events: JobEvent[] = [];
  svc.onEvent((e) => events.push(e));
  const proj = path.join(dir, 'proj');
  await svc.call('project.create', { dir: proj, name: 'Handoff' });
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'source', copy: true });
  // one file split in two (the datasets form's split): the import must tell the halves apart
  const text = writeText(dir, 'text.txt', 'tinyshakespeare.txt', 26_000);
  const train = await svc.call('dataset.add', { path: `${text}#0-0.8`, name: 'train', copy: false });
  const val = await svc.call('dataset.add', { path: `${text}#0.8-1`, name: 'val', copy: false });
  const req = { modelId: model.id, datasetId: train.id, valDatasetId: val.id, settings: SETTINGS };

  // errors: inside the project (refused at once); a folder Scion did not write (the job fails, naming the file)
  await assert.rejects(svc.call('model.handoff', { ...req, out: path.join(proj, 'handoff') }), /outside the project/);
  const thesis = path.join(dir, 'thesis');
  mkdirSync(thesis);
  writeFileSync(path.join(thesis, 'thesis.tex'), 'keep');
  const refused = await waitForJob(svc, (await svc.call('model.handoff', { ...req, out: thesis, force: true })).id);
  assert.equal(refused.status, 'failed');
  assert.match(refused.error ?? '', /thesis\.tex, which Scion did not write/);
  assert.equal(readFileSync(path.join(thesis, 'thesis.tex'), 'utf8'), 'keep');

  // the mask ramp reaches the writer: a model not grown with msg has no mask to ramp
  const unmasked = await waitForJob(svc, (await svc.call('model.handoff', { ...req, maskRamp: 4, out: path.join(dir, 'masked') })).id);
  assert.match(unmasked.error ?? '', /--mask-ramp needs growth-mask\.safetensors/);
  assert.ok(!existsSync(path.join(dir, 'masked')));

  const out = path.join(dir, 'handoff');
  const job = await svc.call('model.handoff', { ...req, out });
  assert.equal(job.kind, 'handoff');
  assert.equal((await waitForJob(svc, job.id)).status, 'done');
  const result = events.find((e) => e.type === 'result' && e.jobId === job.id);
  const summary = (result as { result: HandoffSummary } | undefined)?.result;
  assert.equal(summary?.dir, out);
  const manifest = JSON.parse(readFileSync(path.join(out, 'scion-handoff.json'), 'utf8')) as HandoffManifest;
  assert.equal(summary.trainTokens, manifest.data.train.tokens);
  assert.equal(summary.valWindows, manifest.data.val_windows?.windows);
  // the session's settings and the project's entries, field for field
  assert.equal(manifest.options.model, model.path);
  assert.equal(manifest.options.data, `${text}#0-0.8`);
  assert.equal(manifest.options.val, `${text}#0.8-1`);
  for (const [k, v] of Object.entries(SETTINGS)) assert.equal(manifest.options[k as keyof typeof SETTINGS], v, k);
  for (const f of ['train.py', 'launch.sh', 'model/config.json', 'model/model.safetensors', 'model/tokenizer.json', 'data/train.bin', 'data/val.bin'])
    assert.ok(existsSync(path.join(out, f)), f);
  const log = await svc.call('job.log', { jobId: job.id });
  assert.ok(
    log.lines.some((l) => /training tokens/.test(l)),
    log.lines.join('\n'),
  );

  // import: a folder that has not trained, and a run folder without metrics, are refused with the file named
  await assert.rejects(svc.call('training.import', { dir: out }), /no run\.json, so no training run to import \(a hand-off folder that has not trained yet/);
  const bare = path.join(dir, 'bare-run');
  mkdirSync(bare);
  writeFileSync(path.join(bare, 'run.json'), JSON.stringify({ version: 1, options: { ...manifest.options, out: bare } }));
  await assert.rejects(svc.call('training.import', { dir: bare }), new RegExp(`${path.join(bare, 'metrics.jsonl')}: no metrics`));
  assert.equal((await svc.call('project.state', {})).trainings.length, 0, 'nothing recorded');

  if (skip) return t.skip(skip);
  const py = spawnSync(python!, ['train.py', '--impl', 'torch', '--device', 'cpu'], {
    cwd: out,
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  });
  assert.equal(py.status, 0, py.stderr);
  const changedBefore = events.filter((e) => e.type === 'project-changed').length;
  const session = await svc.call('training.import', { dir: out });
  assert.equal(session.origin, 'handoff');
  assert.equal(session.status, 'done');
  assert.equal(session.modelId, model.id, 'a session of the model it was handed off from');
  assert.equal(session.datasetId, train.id);
  assert.equal(session.valDatasetId, val.id);
  assert.equal(session.lastStep, 8);
  assert.ok(events.filter((e) => e.type === 'project-changed').length > changedBefore, 'other clients hear of it');
  const lines = await readMetrics(path.join(out, 'run', 'metrics.jsonl'));
  const points = await svc.call('train.metrics', { trainingId: session.id });
  assert.deepEqual(
    points.map((p) => [p.step, p.train_loss, p.val_loss]),
    lines.map((m) => [m.step, m.train_loss, m.val_loss]),
  );
  const state = await svc.call('project.state', {});
  assert.ok(
    state.models.some((m) => m.id === session.resultModelId && m.lineage?.trainingId === session.id),
    'the trained model is listed',
  );
  const again = await svc.call('training.import', { dir: out });
  assert.equal(again.id, session.id, 'importing again updates the same session');
});
