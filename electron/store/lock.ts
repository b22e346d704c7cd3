/**
 * One Scion process at a time runs a project's jobs: the service holds `.scion-lock` in the
 * project folder (the engine's folder lock, io/folder-lock.ts, the same one a training run
 * folder uses) and refreshes it every few seconds. Another service that opens the project is
 * refused while the lock is held; a lock left by a process that died is taken over at once
 * (on this machine) or when it has not been refreshed for `staleMs` (another machine), so a
 * crash never locks a project for good, even after a reboot.
 */
import { ScionError } from '../engine/errors.ts';
import { LOCK_FILE, lockFolder, processAlive } from '../engine/io/folder-lock.ts';

export { LOCK_FILE };
/** Whether process `pid` of this machine is running (a project's pid records use it). */
export const alive = processAlive;

export interface ProjectLock {
  release(): Promise<void>;
}

export interface LockOptions {
  refreshMs?: number;
  staleMs?: number;
}

/** Takes the lock of the project in `dir`, or throws E_PROJECT_LOCKED naming who holds it. */
export async function lockProject(dir: string, opts: LockOptions = {}): Promise<ProjectLock> {
  return lockFolder(dir, {
    ...opts,
    refuse: (held, file) =>
      new ScionError(`${dir}: this project is open in another Scion process (pid ${held.pid} on ${held.host}); close it there first`, 'E_PROJECT_LOCKED', file),
  });
}
