/**
 * The project file's schema version and the path from older versions to this one. A
 * migration rewrites what it must (atomically, entry by entry) and the project file's
 * version is bumped last, so an interrupted migration simply runs again. A project written
 * by a newer Scion is refused before anything is touched.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../engine/errors.ts';
import { atomicWriteJson } from '../engine/io/atomic.ts';
import { PROJECT_FILE } from './layout.ts';
import { type ProjectFile, parseOrThrow, projectFileSchema } from './schemas.ts';

/** The version this Scion writes. */
export const SCHEMA_VERSION = 1;

export interface Migration {
  /** Applies to projects at this version and leaves them at `from + 1`. */
  from: number;
  describe: string;
  /** Rewrites the project folder; `raw` is the project file as read, changed in place. */
  apply(dir: string, raw: Record<string, unknown>): Promise<void>;
}

/** Version 1 is the first; later versions add their step here. */
export const MIGRATIONS: Migration[] = [];

export interface SchemaOptions {
  /** For tests: pretend this Scion writes another version, with these migrations. */
  schemaVersion?: number;
  migrations?: Migration[];
}

async function readRaw(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ScionError(`${path.dirname(file)}: not a Scion project (${PROJECT_FILE} is missing)`, 'E_NOT_A_PROJECT', file);
    throw new ScionError(`${file}: cannot read (${(e as Error).message})`, 'E_PROJECT', file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ScionError(`${file}: not valid JSON (${(e as Error).message})`, 'E_PROJECT', file);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ScionError(`${file}: not a JSON object`, 'E_PROJECT', file);
  return raw as Record<string, unknown>;
}

/**
 * Reads the project file of `dir`, migrating an older project to the current version.
 * Throws E_PROJECT_NEWER, with nothing written, for a project from a newer Scion.
 */
export async function readProjectFile(dir: string, opts: SchemaOptions = {}): Promise<ProjectFile> {
  const current = opts.schemaVersion ?? SCHEMA_VERSION;
  const migrations = opts.migrations ?? MIGRATIONS;
  const file = path.join(dir, PROJECT_FILE);
  const raw = await readRaw(file);
  if (raw['format'] !== 'scion-project')
    throw new ScionError(`${file}: not a Scion project file (format is ${JSON.stringify(raw['format'])}, expected "scion-project")`, 'E_NOT_A_PROJECT', file);
  const version = raw['schemaVersion'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new ScionError(`${file}: schemaVersion ${JSON.stringify(version)} is not a positive integer`, 'E_PROJECT', file);
  }
  if (version > current) {
    throw new ScionError(
      `${file}: this project was saved by a newer version of Scion (project schema ${version}; this version reads up to ${current}). Update Scion to open it; nothing was changed.`,
      'E_PROJECT_NEWER',
      file,
    );
  }
  for (let v = version; v < current; v++) {
    const step = migrations.find((m) => m.from === v);
    if (!step) throw new ScionError(`${file}: no migration from project schema ${v} to ${v + 1}`, 'E_PROJECT', file);
    await step.apply(dir, raw);
    raw['schemaVersion'] = v + 1;
    await atomicWriteJson(file, raw);
  }
  return parseOrThrow(projectFileSchema, raw, file, 'E_PROJECT');
}

export async function writeProjectFile(dir: string, pf: ProjectFile): Promise<void> {
  await atomicWriteJson(path.join(dir, PROJECT_FILE), pf);
}
