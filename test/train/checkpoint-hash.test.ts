/**
 * A checkpoint's files are fingerprinted by streaming: the AdamW moments of a 355M model are 2.8 GB,
 * past fs.readFile's 2 GiB limit (a 355M run failed at its first checkpoint with "File size
 * (2838647432) is greater than 2 GiB"). A sparse file of 2 GiB + 1 MiB, against coreutils' sha256sum.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, ftruncateSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { sha256File } from '../../electron/engine/io/file-hash.ts';
import { tempDir } from '../helpers/tmp.ts';

const sha256sum = spawnSync('sha256sum', ['--version']).status === 0;

test('a file over 2 GiB is fingerprinted (as sha256sum does)', { skip: !sha256sum && 'no sha256sum here' }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const file = path.join(dir, 'moments.safetensors');
  const fd = openSync(file, 'w');
  ftruncateSync(fd, 2 ** 31 + 2 ** 20); // sparse: no disk used
  writeSync(fd, Buffer.from('the end of the moments'), 0, 22, 2 ** 31 + 1000); // bytes past 2 GiB count
  closeSync(fd);
  const want = spawnSync('sha256sum', [file], { encoding: 'utf8' }).stdout.split(' ')[0];
  assert.match(want!, /^[0-9a-f]{64}$/);
  assert.equal(await sha256File(file), want);
});
