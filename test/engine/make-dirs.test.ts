/**
 * makeDirs settles everywhere: Node's recursive mkdir never returns under /proc (it retries
 * ENOENT forever), makeDirs answers with an error naming the folder; a file in the way, a
 * dangling link, and the ordinary case.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { makeDirs, systemFolderOf } from '../../electron/engine/io/make-dirs.ts';
import { tempDir } from '../helpers/tmp.ts';

function settles<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms).unref())]);
}

test('under /proc: an error naming the folder, at once', { skip: process.platform !== 'linux' }, async () => {
  await assert.rejects(
    settles(makeDirs('/proc/scion-test/a/b')),
    /^ScionError: cannot create the folder \/proc\/scion-test: \/proc does not accept new folders/,
  );
  await assert.rejects(settles(makeDirs('/proc/self/scion-test')), /cannot create the folder \/proc\/self\/scion-test/);
  assert.equal(systemFolderOf('/proc/x'), '/proc');
  assert.equal(systemFolderOf('/sys'), '/sys');
  assert.equal(systemFolderOf('/process/x'), undefined);
});

test('a file or a dangling link in the way is an error; the ordinary case creates every level', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  writeFileSync(path.join(dir, 'file'), 'x');
  await assert.rejects(settles(makeDirs(path.join(dir, 'file', 'sub'))), /a file \(not a folder\) is in the way/);
  symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'));
  await assert.rejects(settles(makeDirs(path.join(dir, 'dangling', 'sub'))), /cannot create the folder .*dangling/);
  await settles(makeDirs(path.join(dir, 'a', 'b', 'c')));
  assert.ok(statSync(path.join(dir, 'a', 'b', 'c')).isDirectory());
  await settles(makeDirs(path.join(dir, 'a', 'b', 'c'))); // already there
  assert.ok(existsSync(path.join(dir, 'a')));
});
