/**
 * A process killed (SIGKILL) in the middle of an atomic folder replace, for the recovery tests:
 * `node --import tsx kill-mid-replace.ts <target> <folder to copy in> build|renames` replaces
 * <target> with a copy of the folder and kills itself during the build or between the two renames.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { atomicWriteDir } from '../../electron/engine/io/atomic.ts';

const [target, from, when] = process.argv.slice(2) as [string, string, 'build' | 'renames'];
const rename = fs.rename.bind(fs);
let renames = 0;
fs.rename = async (a, b) => {
  if (when === 'renames' && ++renames === 2) process.kill(process.pid, 'SIGKILL');
  return rename(a, b);
};
await atomicWriteDir(target, async (tmp) => {
  for (const f of await fs.readdir(from)) await fs.copyFile(path.join(from, f), path.join(tmp, f));
  if (when === 'build') process.kill(process.pid, 'SIGKILL');
});
