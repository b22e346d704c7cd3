/**
 * Every writer of a project folder takes its write lock around each read-modify-write: two
 * CLIs recording into one project at once (and the open app) never duplicate an entry nor
 * lose one. Proved in one process with interleaved records (deterministic), and with real
 * `scion grow --project` processes racing, round after round.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { Project } from '../../electron/store/project.ts';
import { recordEvaluation, recordGrowth } from '../../electron/store/record.ts';
import { WRITE_LOCK_FILE, withWriteLock } from '../../electron/store/write-lock.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { quickGrowArgs, scionChild } from '../helpers/scion-child.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeText } from '../service/util.ts';

const SOURCE = fixtureDir('gpt2-shakespeare-d64-l2');
const METRICS = { loss: 3, perplexity: Math.exp(3), accuracy: 0.3, tokens: 100, windows: 1, ctx: 16 };

/** Every model and dataset path appears once, and nothing is damaged. */
async function assertNoDuplicates(dir: string): Promise<Project> {
  const p = await Project.open(dir);
  assert.deepEqual(p.problems, []);
  const paths = [...p.models.values()].map((m) => m.path);
  assert.deepEqual(paths.length, new Set(paths).size, `duplicate model entries: ${paths.join(', ')}`);
  const data = [...p.datasets.values()].map((d) => d.path);
  assert.deepEqual(data.length, new Set(data).size, `duplicate dataset entries: ${data.join(', ')}`);
  return p;
}

test('records started at once in one process (a new project, one source, one dataset) make one entry each', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const proj = path.join(dir, 'proj');
  const text = writeText(dir, 'data.txt', 'tinyshakespeare.txt', 2_000);
  const evals = await Promise.all([0, 1, 2, 3].map(() => recordEvaluation(proj, { modelDir: SOURCE, dataFile: text, metrics: METRICS, backend: 'wasm' })));
  const p = await assertNoDuplicates(proj);
  assert.equal(p.models.size, 1);
  assert.equal(p.datasets.size, 1);
  assert.equal(p.evaluations.size, 4, 'no evaluation lost');
  assert.deepEqual(new Set(evals.map((e) => e.modelId)).size, 1);
  assert.equal(existsSync(path.join(proj, WRITE_LOCK_FILE)), false, 'the write lock is released');
});

test('a grown folder recorded twice at once (grow --force) ends as one entry', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const proj = path.join(dir, 'proj');
  const r = { sourceDir: SOURCE, outDir: SOURCE, method: 'hypercloning', options: {}, seed: 0 };
  await Promise.all([
    recordGrowth(proj, { ...r, outDir: fixtureDir('gpt2-random-d64-l2') }),
    recordGrowth(proj, { ...r, outDir: fixtureDir('gpt2-random-d64-l2') }),
  ]);
  const p = await assertNoDuplicates(proj);
  assert.equal(p.models.size, 2);
});

test('the write lock: a dead holder is taken over, a live one is waited for, then refused with a clear error', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, WRITE_LOCK_FILE);
  // left by a process that is gone (pid 2^22 + 1 does not exist here)
  writeFileSync(file, JSON.stringify({ pid: 4_194_305, host: (await import('node:os')).hostname(), token: 'dead' }));
  assert.equal(await withWriteLock(dir, async () => 'ran', { waitMs: 2_000 }), 'ran');
  assert.equal(existsSync(file), false);
  // left by no-one knows whom, but not refreshed for a minute
  writeFileSync(file, '');
  const old = new Date(Date.now() - 60_000);
  utimesSync(file, old, old);
  assert.equal(await withWriteLock(dir, async () => 'ran', { waitMs: 2_000 }), 'ran');
  // held by a live process (this one's parent): waited for, then refused
  writeFileSync(file, JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname(), token: 'live' }));
  await assert.rejects(
    withWriteLock(dir, async () => 'ran', { waitMs: 300 }),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_PROJECT_BUSY');
      assert.match(e.message, new RegExp(`the project is busy: another Scion process \\(pid ${process.ppid} on `));
      return true;
    },
  );
  assert.equal(existsSync(file), true, 'a live lock is left alone');
});

test('the write lock of a live writer on this machine is never broken for being old (the folder lock decides by pid)', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, WRITE_LOCK_FILE);
  writeFileSync(file, JSON.stringify({ pid: process.ppid, host: (await import('node:os')).hostname(), token: 'live', updatedAt: Date.now() - 600_000 }));
  const old = new Date(Date.now() - 600_000);
  utimesSync(file, old, old);
  await assert.rejects(
    withWriteLock(dir, async () => 'ran', { waitMs: 300, staleMs: 1_000 }),
    /the project is busy/,
  );
  assert.match(readFileSync(file, 'utf8'), /"token":"live"/, 'the live lock is left as it was');
});

test('parallel `scion grow --project P` processes of one source, round after round: no duplicate entries, none lost', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const ROUNDS = 4;
  const PARALLEL = 4;
  for (let round = 0; round < ROUNDS; round++) {
    const proj = path.join(dir, `proj-${round}`);
    const runs = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => scionChild(quickGrowArgs(SOURCE, path.join(dir, `grown-${round}-${i}`), proj))));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const p = await assertNoDuplicates(proj);
    const models = [...p.models.values()];
    assert.equal(models.filter((m) => m.kind === 'source').length, 1, `round ${round}: one source entry`);
    assert.equal(models.filter((m) => m.kind === 'grown').length, PARALLEL, `round ${round}: every grown model recorded`);
  }
});
