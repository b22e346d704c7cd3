/**
 * The open app re-reads a project's entries only after another process stamped a change
 * (`.scion-changes`): `project.state`, which the UI calls all the time, costs one small read
 * otherwise. A change picked up by one client's call is announced to every client on that
 * project, so a second tab refreshes too.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { JobEvent } from '../../electron/shared/contract.ts';
import { Project } from '../../electron/store/project.ts';
import { recordEvaluation } from '../../electron/store/record.ts';
import { stampChange } from '../../electron/store/write-lock.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { serviceInTempDir, writeText } from '../service/util.ts';

const SOURCE = fixtureDir('gpt2-shakespeare-d64-l2');
const METRICS = { loss: 3, perplexity: Math.exp(3), accuracy: 0.3, tokens: 100, windows: 1, ctx: 16 };

test('refresh re-reads the entries after a stamp, and only then', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const proj = path.join(dir, 'proj');
  const text = writeText(dir, 'data.txt', 'tinyshakespeare.txt', 2_000);
  await recordEvaluation(proj, { modelDir: SOURCE, dataFile: text, metrics: METRICS, backend: 'wasm' });
  const open = await Project.open(proj);
  assert.equal(await open.refresh(), false, 'nothing stamped since it was opened');

  // another process records (and stamps): the next refresh sees it
  await recordEvaluation(proj, { modelDir: SOURCE, dataFile: text, metrics: METRICS, backend: 'wasm' });
  assert.equal(await open.refresh(), true);
  assert.equal(open.evaluations.size, 2);
  assert.equal(await open.refresh(), false, 'the same stamp is not read twice');

  // an entry changed on disk without a stamp is not re-read; after a stamp it is
  const model = [...open.models.values()][0]!;
  const file = path.join(proj, 'models', model.id, 'entry.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), name: 'renamed' }));
  assert.equal(await open.refresh(), false);
  assert.equal(open.get('models', model.id).name, model.name, 'no re-read without a stamp');
  await stampChange(proj);
  assert.equal(await open.refresh(), true);
  assert.equal(open.get('models', model.id).name, 'renamed');
});

test('a change one tab picks up through project.state reaches the other tab on that project as project-changed', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const proj = path.join(dir, 'proj');
  await svc.call('project.create', { dir: proj, name: 'P' }, 'tab-1');
  await svc.call('project.open', { dir: proj }, 'tab-2');
  const changed: string[] = [];
  svc.onEvent((e: JobEvent, d) => {
    if (e.type === 'project-changed') changed.push(d);
  });
  const text = writeText(dir, 'data.txt', 'tinyshakespeare.txt', 2_000);
  await recordEvaluation(proj, { modelDir: SOURCE, dataFile: text, metrics: METRICS, backend: 'wasm' });
  // tab 1 asks before the watcher's next poll, or after it: either way the change is listed and announced once
  assert.equal((await svc.call('project.state', {}, 'tab-1')).evaluations.length, 1);
  assert.deepEqual(changed.slice(0, 1), [proj], 'announced to the tabs on the project');
  assert.equal((await svc.call('project.state', {}, 'tab-2')).evaluations.length, 1);
  await new Promise((r) => setTimeout(r, 1_200)); // past two polls of the watcher
  assert.equal(changed.length, 1, 'one change, one announcement');
});

test('project.open on the project a client has open reads it again from disk, stamp or not', async (t) => {
  const { dir, svc } = serviceInTempDir(t);
  const proj = path.join(dir, 'proj');
  await svc.call('project.create', { dir: proj, name: 'P' });
  const model = await svc.call('model.import', { path: SOURCE, name: 'src', copy: false });
  const file = path.join(proj, 'models', model.id, 'entry.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), name: 'edited' }));
  assert.equal((await svc.call('project.state', {})).models[0]!.name, 'src', 'no stamp: the open project is not re-read');
  assert.equal((await svc.call('project.open', { dir: proj })).models[0]!.name, 'edited');
  assert.equal((await svc.call('project.state', {})).models[0]!.name, 'edited');
  await svc.call('model.import', { path: SOURCE, name: 'again', copy: false }); // the reopened project writes
  assert.equal((await svc.call('project.state', {})).models.length, 2);
});
