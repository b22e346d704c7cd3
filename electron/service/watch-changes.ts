/**
 * The open project notices what other processes write into it: every writer stamps
 * `.scion-changes` after a change (store/write-lock.ts), and this polls that one small
 * file. On a new stamp the entries are re-read (unless a `project.state` call already read
 * them after it), and when that changed any, `changed` is called (the service turns it into
 * a 'project-changed' event, and the UI refreshes).
 */
import { unwatchFile, watchFile } from 'node:fs';
import * as path from 'node:path';
import { errorMessage } from '../engine/errors.ts';
import type { Project } from '../store/project.ts';
import { CHANGES_FILE } from '../store/write-lock.ts';

/** Starts watching; returns the function that stops. */
export function watchChanges(project: Project, changed: () => void, onError: (m: string) => void = () => undefined, intervalMs = 500): () => void {
  const file = path.join(project.dir, CHANGES_FILE);
  let busy = Promise.resolve();
  const listener = (): void => {
    busy = busy.then(async () => {
      try {
        if (await project.refresh()) changed();
      } catch (e) {
        onError(`could not re-read ${project.dir}: ${errorMessage(e)}`);
      }
    });
  };
  watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => unwatchFile(file, listener);
}
