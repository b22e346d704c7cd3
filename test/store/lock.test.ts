/**
 * One process at a time runs a project's jobs: a second service is refused while the first
 * holds the project; a lock whose process died, or that stopped being refreshed, is taken over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createService } from '../../electron/service/service.ts';
import { LOCK_FILE, lockProject } from '../../electron/store/lock.ts';
import { tempDir } from '../helpers/tmp.ts';

test('a project open in one service is refused by another until it is closed', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const recentFile = path.join(dir, 'recent.json');
  const a = createService({ recentFile });
  const state = await a.call('project.create', { dir: path.join(dir, 'proj'), name: 'Locked' });
  const b = createService({ recentFile });
  t.after(() => b.close());
  await assert.rejects(b.call('project.open', { dir: state.project.dir }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_PROJECT_LOCKED');
    assert.match(e.message, new RegExp(`open in another Scion process \\(pid ${process.pid} on `));
    return true;
  });
  await a.close();
  assert.equal(existsSync(path.join(state.project.dir, LOCK_FILE)), false, 'closing releases the lock');
  assert.equal((await b.call('project.open', { dir: state.project.dir })).project.name, 'Locked');
});

test('a lock left by a dead process, or not refreshed, is taken over', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, LOCK_FILE);
  // a process of this machine that is gone (pid 2^22 + 1 is above Linux's pid_max default)
  writeFileSync(file, JSON.stringify({ pid: 4194305, host: os.hostname(), token: 'x', updatedAt: Date.now() }));
  const l1 = await lockProject(dir);
  await l1.release();
  // another machine's lock that stopped being refreshed
  writeFileSync(file, JSON.stringify({ pid: process.pid, host: 'elsewhere', token: 'y', updatedAt: Date.now() - 60_000 }));
  const l2 = await lockProject(dir);
  // ... and one that is fresh is respected
  await assert.rejects(lockProject(dir), /open in another Scion process/);
  await l2.release();
  writeFileSync(file, JSON.stringify({ pid: 1, host: 'elsewhere', token: 'z', updatedAt: Date.now() }));
  await assert.rejects(lockProject(dir), /pid 1 on elsewhere/);
});
