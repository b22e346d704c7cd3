/**
 * The folder lock (projects, run folders): a stale lock broken by many processes at once is won
 * by exactly one; a process that exits without releasing its lock removes it; a lock of
 * another process of this machine that is alive is respected however old it is.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ScionError } from '../../electron/engine/errors.ts';
import { LOCK_FILE, lockFolder } from '../../electron/engine/io/folder-lock.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';

const refuse = (h: { pid: number }) => new ScionError(`held by pid ${h.pid}`, 'E_LOCKED');

test('a stale lock taken over by eight lockers at once: exactly one wins', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  for (let round = 0; round < 5; round++) {
    // a process of this machine that is gone (above Linux's default pid_max)
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: 4194305, host: os.hostname(), token: `dead-${round}`, updatedAt: Date.now() }));
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => lockFolder(dir, { refuse })));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
    for (const r of results) if (r.status === 'rejected') assert.match(String(r.reason), new RegExp(`held by pid ${process.pid}`));
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockFolder>>>).value.release();
    assert.equal(existsSync(path.join(dir, LOCK_FILE)), false);
  }
});

test('a live process of this machine keeps its lock, however long since it refreshed it', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: os.hostname(), token: 'parent', updatedAt: 0 }));
  await assert.rejects(lockFolder(dir, { refuse }), new RegExp(`held by pid ${process.ppid}`));
});

test('a process that exits without releasing its lock removes it', (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const lockModule = path.join(ROOT, 'electron', 'engine', 'io', 'folder-lock.ts');
  const script = `import { lockFolder } from ${JSON.stringify(lockModule)};
await lockFolder(${JSON.stringify(dir)}, { refuse: () => new Error('held') });
console.log('locked');
process.exit(3);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stdout, /locked/);
  assert.equal(existsSync(path.join(dir, LOCK_FILE)), false);
});
