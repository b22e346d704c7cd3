/**
 * Where things live inside a project folder:
 *
 *   scion-project.json                 the project file (name, schemaVersion)
 *   models/<id>/entry.json             one model: source, grown, trained or scratch
 *   models/<id>/model/                 its Hugging Face folder (unless referenced in place);
 *                                      a grown model's growth.json is in it
 *   datasets/<id>/entry.json           one dataset, its copied file beside it
 *   evaluations/<id>/entry.json        one evaluation (model x dataset)
 *   trainings/<id>/entry.json          one training session; its run folder in run/
 *   jobs/<id>/entry.json               one job record; its log in log.txt, an experiment's
 *                                      folder in experiment/, work in progress in work/
 *   .scion-lock                        held by the process that runs the project's jobs (lock.ts)
 *   .scion-write-lock                  held for each read-modify-write of the entries (write-lock.ts)
 *   .scion-changes                     stamped after each such write; the open app watches it
 *
 * Paths inside entries are stored relative to the project (so a project can be moved or
 * committed to git) and absolute when they point outside it (referenced models and data).
 */
import * as path from 'node:path';
import { ScionError } from '../engine/errors.ts';
import { ID_PATTERN } from './schemas.ts';

export const PROJECT_FILE = 'scion-project.json';
export const ENTRY_FILE = 'entry.json';
export const COLLECTIONS = ['models', 'datasets', 'evaluations', 'trainings', 'jobs'] as const;
export type Collection = (typeof COLLECTIONS)[number];

/** True when `p` is `root` or inside it (after resolving `..`). */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The folder of an entry; the id is checked so it cannot name anything outside. */
export function entryDir(projectDir: string, collection: Collection, id: string): string {
  if (!ID_PATTERN.test(id)) throw new ScionError(`'${id}' is not a valid ${collection} id`, 'E_INVALID');
  return path.join(projectDir, collection, id);
}

export function entryFile(projectDir: string, collection: Collection, id: string): string {
  return path.join(entryDir(projectDir, collection, id), ENTRY_FILE);
}

/** The on-disk form of a path: relative with '/' when inside the project, absolute otherwise. */
export function storePath(projectDir: string, p: string): string {
  const abs = path.resolve(p);
  if (!isInside(projectDir, abs)) return abs;
  return path.relative(projectDir, abs).split(path.sep).join('/');
}

/**
 * The absolute form of a stored path. `inside` says the entry claims the project made it,
 * so it must resolve inside the project folder (a hand-edited '../..' is refused).
 */
export function loadPath(projectDir: string, stored: string, inside: boolean, file: string): string {
  const abs = path.isAbsolute(stored) ? path.resolve(stored) : path.resolve(projectDir, stored);
  if (inside && !isInside(projectDir, abs)) {
    throw new ScionError(`${file}: path '${stored}' is outside the project folder, but the entry says the project created it`, 'E_OUTSIDE', file);
  }
  return abs;
}
