/**
 * One process at a time trains in a run folder: `scion train --out R` and `--resume R`
 * (from the CLI, the app's jobs or an experiment) hold the folder's lock (io/folder-lock.ts)
 * from before they look at the folder until they return, so a second one is refused, naming
 * the folder and the process that holds it, instead of interleaving its metrics and
 * checkpoints with the first's.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError, systemProblem } from '../errors.ts';
import { lockFolder } from '../io/folder-lock.ts';

/** Lock refreshes (for another machine sharing the folder) and when a silent one is stale. */
const REFRESH_MS = 30_000;
const STALE_MS = 10 * 60_000;

/**
 * Runs `fn` holding the lock of `runDir`. With `create`, a missing folder (and its missing
 * parents) is made first, and removed again if `fn` left it empty (a run refused before it
 * wrote anything).
 */
export async function withRunLock<T>(runDir: string, create: boolean, fn: () => Promise<T>): Promise<T> {
  if (existsSync(runDir) && !(await fs.stat(runDir)).isDirectory())
    throw new ScionError(`${runDir}: exists and is not a folder; a run folder is a folder`, 'E_RUN', runDir);
  let made: string | undefined; // the first folder this call created, if any
  if (create && !existsSync(runDir)) {
    try {
      made = await fs.mkdir(runDir, { recursive: true });
    } catch (e) {
      throw new ScionError(`${runDir}: cannot create the run folder (${systemProblem(e) ?? (e as Error).message})`, 'E_WRITE', runDir);
    }
  }
  const removeIfEmpty = async () => {
    if (made === undefined) return;
    // the folders this call made, innermost first, while they are empty
    for (let d = path.resolve(runDir); ; d = path.dirname(d)) {
      if (
        !(await fs.rmdir(d).then(
          () => true,
          () => false,
        ))
      )
        return;
      if (d === path.resolve(made)) return;
    }
  };
  let lock;
  try {
    lock = await lockFolder(runDir, {
      refreshMs: REFRESH_MS,
      staleMs: STALE_MS,
      refuse: (h, file) =>
        new ScionError(
          `${runDir}: another Scion process (pid ${h.pid} on ${h.host}) is training in this run folder` +
            `${h.startedAt ? ` since ${new Date(h.startedAt).toISOString()}` : ''}; wait for it to finish or stop it ` +
            `(if no such process is running, delete ${file})`,
          'E_RUN_LOCKED',
          file,
        ),
    });
  } catch (e) {
    await removeIfEmpty();
    throw e;
  }
  try {
    return await fn();
  } finally {
    await lock.release();
    await removeIfEmpty();
  }
}
