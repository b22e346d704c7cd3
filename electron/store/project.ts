/**
 * An open project: the project file plus every entry, read from disk and validated. A
 * damaged entry is reported in `problems` and left out; the rest opens. Every write goes
 * through here and is atomic: an entry (with its data files) appears whole or not at all.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DatasetEntry, EvaluationEntry, Id, JobInfo, ModelEntry, ProjectState, TrainingEntry } from '../shared/contract.ts';
import { ScionError, errorMessage } from '../engine/errors.ts';
import { atomicWriteDir, atomicWriteFile, atomicWriteJson } from '../engine/io/atomic.ts';
import { makeDirs, systemFolderOf } from '../engine/io/make-dirs.ts';
import { COLLECTIONS, type Collection, ENTRY_FILE, PROJECT_FILE, entryDir, entryFile, loadPath, storePath } from './layout.ts';
import { LOCK_FILE, alive } from './lock.ts';
import { type SchemaOptions, SCHEMA_VERSION, readProjectFile, writeProjectFile } from './migrations.ts';
import {
  type JobRecord,
  type ProjectFile,
  datasetEntrySchema,
  describeIssues,
  evaluationEntrySchema,
  jobRecordSchema,
  modelEntrySchema,
  trainingEntrySchema,
} from './schemas.ts';
import { CHANGES_FILE, WRITE_LOCK_FILE, type WriteLockOptions, readChangeStamp, stampChange, withWriteLock } from './write-lock.ts';

export interface EntryTypes {
  models: ModelEntry;
  datasets: DatasetEntry;
  evaluations: EvaluationEntry;
  trainings: TrainingEntry;
  jobs: JobRecord;
}
type AnyEntry = EntryTypes[Collection];
export type Problem = { file: string; problem: string };

/** Temporary and deleted folders the project itself leaves behind after a crash. */
const LEFTOVER = /^\..+\.(tmp-(\d+)-[0-9a-f]{8}(-old)?|deleted-[0-9a-f]{8})$/;

/** A leftover folder whose writer may still be at work (it is alive: the app, or a CLI recording): not to be touched. */
function inProgress(name: string): boolean {
  const pid = Number(LEFTOVER.exec(name)?.[2]);
  return Number.isInteger(pid) && pid > 0 && (pid === process.pid || alive(pid));
}

/** Refuses the kernel's virtual folders (/proc, /sys, /dev): nothing can be written there. */
export function refuseSystemFolder(abs: string): void {
  const system = systemFolderOf(abs);
  if (system)
    throw new ScionError(
      `${abs}: ${system} is a virtual folder of the operating system, not a place for a project; pick a folder in your home or data disk`,
      'E_PROJECT',
      abs,
    );
}

function slug(name: string): string {
  const s = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return s || 'entry';
}

export class Project {
  readonly models = new Map<Id, ModelEntry>();
  readonly datasets = new Map<Id, DatasetEntry>();
  readonly evaluations = new Map<Id, EvaluationEntry>();
  readonly trainings = new Map<Id, TrainingEntry>();
  readonly jobs = new Map<Id, JobRecord>();
  readonly problems: Problem[] = [];
  /** Disk writes per entry, in call order (so a late write never lands before an early one). */
  private readonly writes = new Map<string, Promise<unknown>>();
  /** Changes made by this process, per entry (`reload` keeps what changed while it read). */
  private readonly versions = new Map<string, number>();
  private changes = 0;
  /** The change stamp read before the entries in memory were last read from disk (see `refresh`). */
  private stampRead: string | undefined;

  private constructor(
    readonly dir: string,
    readonly file: ProjectFile,
  ) {}

  /** Creates a project in `dir` (a new or empty folder). */
  static async create(dir: string, name: string): Promise<Project> {
    const abs = path.resolve(dir);
    refuseSystemFolder(abs);
    if (existsSync(abs)) {
      const st = await fs.stat(abs);
      if (!st.isDirectory()) throw new ScionError(`${abs}: exists and is not a folder`, 'E_PROJECT', abs);
      if (existsSync(path.join(abs, PROJECT_FILE))) throw new ScionError(`${abs}: already holds a Scion project (open it instead)`, 'E_PROJECT_EXISTS', abs);
      const names = (await fs.readdir(abs)).filter((n) => !n.startsWith('.'));
      if (names.length > 0)
        throw new ScionError(
          `${abs}: the folder is not empty (${names.length} item${names.length > 1 ? 's' : ''}); pick an empty or new folder for a project`,
          'E_PROJECT',
          abs,
        );
    }
    await makeDirs(abs);
    const pf: ProjectFile = { format: 'scion-project', schemaVersion: SCHEMA_VERSION, name, createdAt: new Date().toISOString() };
    await writeProjectFile(abs, pf);
    // Caches and the lock are machine-local: keep them out of the user's git.
    await atomicWriteFile(path.join(abs, '.gitignore'), `.cache/\n${LOCK_FILE}\n${WRITE_LOCK_FILE}\n${CHANGES_FILE}\n`);
    return new Project(abs, pf);
  }

  /** Opens the project in `dir`, migrating it when it is older; bad entries go to `problems`. */
  static async open(dir: string, opts: SchemaOptions = {}): Promise<Project> {
    const abs = path.resolve(dir);
    const pf = await readProjectFile(abs, opts);
    const p = new Project(abs, pf);
    p.stampRead = await readChangeStamp(abs);
    for (const c of COLLECTIONS) await p.loadCollection(c, p.map(c), p.problems);
    p.checkReferences();
    return p;
  }

  /**
   * Re-reads the entries from disk (another process, a CLI with `--project`, may have
   * written some). What this process changed meanwhile, or is still writing, is kept; its
   * own job records are kept as they are (only the process holding the project runs jobs).
   * True when an entry was added, changed or removed.
   */
  async reload(): Promise<boolean> {
    const seen = new Map(this.versions);
    const fresh = new Map<Collection, Map<Id, AnyEntry>>();
    const problems: Problem[] = [];
    for (const c of COLLECTIONS) {
      const m = new Map<Id, AnyEntry>();
      await this.loadCollection(c, m, problems);
      fresh.set(c, m);
    }
    // from here on synchronous: nothing can change in between
    let changed = false;
    for (const c of COLLECTIONS) {
      if (c === 'jobs') continue;
      const mine = this.map(c) as Map<Id, AnyEntry>;
      const disk = fresh.get(c)!;
      const untouched = (id: Id) => {
        const key = `${c}/${id}`;
        return this.versions.get(key) === seen.get(key) && !this.writes.has(key);
      };
      for (const [id, e] of disk) {
        if (!untouched(id)) continue;
        if (!changed && JSON.stringify(mine.get(id)) !== JSON.stringify(e)) changed = true;
        mine.set(id, e);
      }
      for (const id of [...mine.keys()]) {
        if (disk.has(id) || !untouched(id)) continue;
        mine.delete(id);
        changed = true;
      }
    }
    this.problems.splice(0, this.problems.length, ...problems);
    this.checkReferences();
    return changed;
  }

  /**
   * Re-reads the entries when a writer stamped a change since they were last read, else
   * costs one stat of `.scion-changes`: what the open app calls on every `project.state` and
   * when its watcher sees a new stamp. True when an entry was added, changed or removed.
   */
  async refresh(): Promise<boolean> {
    const stamp = await readChangeStamp(this.dir);
    if (stamp === this.stampRead) return false;
    const changed = await this.reload();
    this.stampRead = stamp;
    return changed;
  }

  /**
   * Runs `fn` holding the project's write lock, on the entries as they are on disk now, and
   * tells watchers when it changed something: for every read-modify-write (delete a model
   * unless something uses it; find or add the entry of a folder).
   */
  async transaction<T>(fn: () => Promise<T>, opts: WriteLockOptions = {}): Promise<T> {
    return withWriteLock(
      this.dir,
      async () => {
        await this.reload();
        const before = this.changes;
        try {
          return await fn();
        } finally {
          if (this.changes !== before) await stampChange(this.dir);
        }
      },
      opts,
    );
  }

  /** Counts a change of this process to an entry (see `reload`). */
  private touch(c: Collection, id: Id): void {
    const key = `${c}/${id}`;
    this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
    this.changes++;
  }

  private async loadCollection(c: Collection, into: Map<Id, AnyEntry>, problems: Problem[]): Promise<void> {
    const root = path.join(this.dir, c);
    let names: string[];
    try {
      names = await fs.readdir(root);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const full = path.join(root, name);
      if (LEFTOVER.test(name)) {
        if (!inProgress(name)) await fs.rm(full, { recursive: true, force: true }).catch(() => undefined);
        continue;
      }
      if (name.startsWith('.')) continue;
      const file = path.join(full, ENTRY_FILE);
      try {
        if (!(await fs.stat(full)).isDirectory()) throw new Error('not a folder (each entry is a folder with entry.json)');
        let text: string;
        try {
          text = await fs.readFile(file, 'utf8');
        } catch {
          throw new Error(`${ENTRY_FILE} is missing`);
        }
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch (e) {
          throw new Error(`not valid JSON (${(e as Error).message})`);
        }
        const entry = this.parseEntry(c, raw, file);
        if (entry.id !== name) throw new Error(`its id '${entry.id}' does not match its folder '${name}'`);
        into.set(entry.id, entry);
      } catch (e) {
        problems.push({ file: path.relative(this.dir, existsSync(file) ? file : full), problem: errorMessage(e).replace(`${file}: `, '') });
      }
    }
  }

  private parseEntry(c: Collection, raw: unknown, file: string): AnyEntry {
    const schema = {
      models: modelEntrySchema,
      datasets: datasetEntrySchema,
      evaluations: evaluationEntrySchema,
      trainings: trainingEntrySchema,
      jobs: jobRecordSchema,
    }[c];
    const r = schema.safeParse(raw);
    if (!r.success) throw new Error(describeIssues(r.error));
    const e = r.data as AnyEntry;
    if (c === 'models' || c === 'datasets') {
      const m = e as ModelEntry | DatasetEntry;
      return { ...m, path: loadPath(this.dir, m.path, !m.referenced, file) };
    }
    if (c === 'trainings') {
      // a run started by `scion train --project` lives where the user put it
      const t = e as TrainingEntry;
      return { ...t, runDir: loadPath(this.dir, t.runDir, false, file) };
    }
    return e;
  }

  /** Entries that point at entries that do not exist are reported and left out. */
  private checkReferences(): void {
    const drop = (c: Collection, id: Id, why: string) => {
      this.map(c).delete(id);
      this.problems.push({ file: path.relative(this.dir, entryFile(this.dir, c, id)), problem: why });
    };
    for (const m of this.models.values()) {
      if (m.lineage && !this.models.has(m.lineage.parent))
        this.problems.push({
          file: path.relative(this.dir, entryFile(this.dir, 'models', m.id)),
          problem: `its parent model '${m.lineage.parent}' is not in the project (lineage kept as recorded)`,
        });
    }
    for (const e of this.evaluations.values()) {
      if (!this.models.has(e.modelId)) drop('evaluations', e.id, `model '${e.modelId}' is not in the project`);
      else if (!this.datasets.has(e.datasetId)) drop('evaluations', e.id, `dataset '${e.datasetId}' is not in the project`);
    }
    for (const t of this.trainings.values()) {
      if (!this.models.has(t.modelId)) drop('trainings', t.id, `model '${t.modelId}' is not in the project`);
      else if (!this.datasets.has(t.datasetId)) drop('trainings', t.id, `dataset '${t.datasetId}' is not in the project`);
    }
  }

  map<C extends Collection>(c: C): Map<Id, EntryTypes[C]> {
    return { models: this.models, datasets: this.datasets, evaluations: this.evaluations, trainings: this.trainings, jobs: this.jobs }[c] as Map<
      Id,
      EntryTypes[C]
    >;
  }

  /** The entry, or a clear error naming the unknown id. */
  get<C extends Collection>(c: C, id: Id): EntryTypes[C] {
    const e = this.map(c).get(id);
    if (!e) throw new ScionError(`no ${c.replace(/s$/, '')} with id '${id}' in project ${this.file.name}`, 'E_UNKNOWN_ID');
    return e;
  }

  /** A fresh id from a name: its slug and a random suffix (never one a job already names as its entry). */
  newId(name: string): Id {
    for (;;) {
      const id = `${slug(name)}-${randomBytes(3).toString('hex')}`;
      const reserved = [...this.jobs.values()].some((j) => j.entryId === id);
      if (!reserved && COLLECTIONS.every((c) => !this.map(c).has(id) && !existsSync(entryDir(this.dir, c, id)))) return id;
    }
  }

  folder(c: Collection, id: Id): string {
    return entryDir(this.dir, c, id);
  }

  private toDisk(c: Collection, e: AnyEntry): AnyEntry {
    if (c === 'models' || c === 'datasets') {
      const m = e as ModelEntry | DatasetEntry;
      return { ...m, path: storePath(this.dir, m.path) };
    }
    if (c === 'trainings') return { ...(e as TrainingEntry), runDir: storePath(this.dir, (e as TrainingEntry).runDir) };
    return e;
  }

  /** Writes (or rewrites) an entry's entry.json atomically. */
  async save<C extends Collection>(c: C, entry: EntryTypes[C]): Promise<EntryTypes[C]> {
    const dir = entryDir(this.dir, c, entry.id);
    const key = `${c}/${entry.id}`;
    const disk = this.toDisk(c, entry);
    this.map(c).set(entry.id, entry);
    this.touch(c, entry.id);
    const write = (this.writes.get(key) ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        await makeDirs(dir);
        await atomicWriteJson(path.join(dir, ENTRY_FILE), disk);
      });
    this.writes.set(key, write);
    try {
      await write;
    } finally {
      if (this.writes.get(key) === write) this.writes.delete(key);
    }
    return entry;
  }

  /** Resolves when every pending entry write is on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.writes.values()].map((w) => w.catch(() => undefined)));
  }

  /**
   * Creates a new entry with its data files in one step: `build` fills a temporary folder
   * (paths it returns in the entry may point into `tmp`; they are rewritten to the final
   * folder), entry.json is written into it, and the folder is renamed into place.
   */
  async create<C extends Collection>(c: C, id: Id, build: (tmp: string) => Promise<EntryTypes[C]>): Promise<EntryTypes[C]> {
    const dir = entryDir(this.dir, c, id);
    if (existsSync(dir)) throw new ScionError(`${dir}: already exists`, 'E_PROJECT', dir);
    await makeDirs(path.dirname(dir));
    let entry: EntryTypes[C] | undefined;
    await atomicWriteDir(dir, async (tmp) => {
      const built = await build(tmp);
      entry = retarget(built, tmp, dir);
      await fs.writeFile(path.join(tmp, ENTRY_FILE), JSON.stringify(this.toDisk(c, entry), null, 2) + '\n');
    });
    this.map(c).set(id, entry!);
    this.touch(c, id);
    return entry!;
  }

  /** Removes an entry's folder (what the project created); never anything outside it. */
  async remove(c: Collection, id: Id): Promise<void> {
    const dir = entryDir(this.dir, c, id);
    const trash = path.join(path.dirname(dir), `.${id}.deleted-${randomBytes(4).toString('hex')}`);
    try {
      await fs.rename(dir, trash);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ScionError(`cannot delete ${dir}: ${(e as Error).message}`, 'E_WRITE', dir);
    }
    this.map(c).delete(id);
    this.touch(c, id);
    await fs.rm(trash, { recursive: true, force: true }).catch(() => undefined);
  }

  state(): ProjectState {
    const byDate = <T extends { createdAt: string }>(m: Map<Id, T>): T[] => [...m.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    return {
      project: { dir: this.dir, name: this.file.name, schemaVersion: this.file.schemaVersion, createdAt: this.file.createdAt },
      models: byDate(this.models),
      datasets: byDate(this.datasets),
      evaluations: byDate(this.evaluations),
      trainings: byDate(this.trainings),
      jobs: byDate(this.jobs).map(jobInfo),
      problems: [...this.problems],
    };
  }
}

/** What the UI sees of a job record (no spec, pid or finish time). */
export function jobInfo(r: JobRecord): JobInfo {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    title: r.title,
    ...(r.entryId !== undefined ? { entryId: r.entryId } : {}),
    ...(r.backend !== undefined ? { backend: r.backend } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    createdAt: r.createdAt,
  };
}

/** Rewrites string fields that point into `from` so they point into `to`. */
function retarget<T>(entry: T, from: string, to: string): T {
  const out: Record<string, unknown> = { ...(entry as Record<string, unknown>) };
  for (const [k, v] of Object.entries(out)) {
    if (typeof v === 'string' && (v === from || v.startsWith(from + path.sep))) out[k] = to + v.slice(from.length);
  }
  return out as T;
}
