/**
 * The one output-folder policy of every command that writes a folder (grow, export, train,
 * experiment, demo; the app's jobs go through the same engine calls):
 *  - `--out` may not be, contain, or lie inside any input (the model, a dataset, moments ...);
 *  - an existing folder is replaced (`--force`) or continued (experiment re-runs) only when Scion
 *    wrote it: every file in it is one Scion writes for that kind of output. A folder Scion
 *    creates carries `.scion-output.json` naming the command; a folder without it (written by
 *    Scion before the marker existed, or a plain Hugging Face model folder) is accepted when
 *    its every file has a name Scion writes there (config.json, model.safetensors, tokenizer
 *    files, growth.json ...; run.json, metrics.jsonl, checkpoints/step-N/ ...). Anything else in
 *    it (notes, a thesis, another program's files) makes Scion refuse, naming the files.
 * Interrupted replaces beside `--out` are repaired first (see atomic.ts).
 */
import { promises as fs, realpathSync } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { MODEL_FOLDER_FILES } from '../models/folder-files.ts';
import { recoverInterrupted } from './atomic.ts';
import { isLockName } from './folder-lock.ts';

/** What a folder holds: a model (grow, export), a training run (train), an experiment (experiment, demo), a hand-off (handoff), a tokenizer (tokenizer train). */
export type OutputKind = 'model' | 'run' | 'experiment' | 'handoff' | 'tokenizer';

export const OUTPUT_MARKER = '.scion-output.json';

/** The marker's text: which command wrote the folder, and what kind of output it is. */
export function outputMarker(kind: OutputKind, command: string): string {
  return JSON.stringify({ format: 'scion-output/1', kind, command, created: new Date().toISOString() }, null, 2) + '\n';
}

export async function writeOutputMarker(dir: string, kind: OutputKind, command: string): Promise<void> {
  await fs.writeFile(path.join(dir, OUTPUT_MARKER), outputMarker(kind, command));
}

/** Names Scion writes in a folder: files by name or pattern, sub-folders with their own layout. */
interface Layout {
  files: (string | RegExp)[];
  dirs: [string | RegExp, Layout][];
}

const matches = (p: string | RegExp, name: string) => (typeof p === 'string' ? p === name : p.test(name));

/** Always allowed: the marker, Scion's own temporary and lock names. */
const SCION_NAMES = [OUTPUT_MARKER, /^\..+\.tmp-\d+-[0-9a-f]{8}(-old)?$/, /^\.scion[-.]/];

const MODEL: Layout = { files: [...MODEL_FOLDER_FILES], dirs: [] };
const CHECKPOINT: Layout = {
  files: ['state.json', 'optimizer.safetensors', 'manifest.json', 'mask-raw.safetensors'],
  dirs: [['model', MODEL]],
};
const RUN: Layout = {
  files: ['run.json', 'metrics.jsonl', 'result.json'],
  dirs: [
    ['final', MODEL],
    // the run's copy of its model's tokenizer and side files (newer versions)
    ['model-files', MODEL],
    ['checkpoints', { files: [], dirs: [[/^(corrupt-)?step-\d+$/, CHECKPOINT]] }],
  ],
};
const EXPERIMENT: Layout = {
  files: ['results.json', 'report.md', 'report.html', 'report-loss.svg'],
  dirs: [
    // <method> / <label>, and grown at an earlier source age (--source-ages): <method>@src<step> / <label>@src<step>
    ['models', { files: [/\.moments\.safetensors$/], dirs: [[/^[a-z0-9+-]+(@src\d+)?$/, MODEL]] }],
    ['runs', { files: [], dirs: [[/^[a-z0-9+-]+(@src\d+)?$/, RUN]] }],
    // learning-rate tuning runs (--tune-lr): <label>--lr-<rate>
    ['tuning', { files: [], dirs: [[/^[a-z0-9+-]+--lr-[0-9.e+-]+$/, RUN]] }],
    // a preset's source: its config (init/), its training run (run/) and its models at earlier ages
    // (--source-ages: ages/step-<N>/, and ages/run/ when a finished source is trained again up to one)
    [
      'source',
      {
        files: [],
        dirs: [
          ['init', MODEL],
          ['run', RUN],
          [
            'ages',
            {
              files: [],
              dirs: [
                [/^step-\d+$/, MODEL],
                ['run', RUN],
              ],
            },
          ],
        ],
      },
    ],
  ],
};
// a hand-off folder before it trained: once train.py wrote run/ there, the folder holds the user's run and is never replaced
const HANDOFF: Layout = {
  files: ['scion-handoff.json', 'train.py', 'scion_torch_models.py', 'launch.sh', 'requirements.txt', 'README.md', 'moments.safetensors'],
  dirs: [
    ['model', MODEL],
    ['data', { files: ['train.bin', 'val.bin', 'val-windows.bin'], dirs: [] }],
    ['__pycache__', { files: [/\.pyc$/], dirs: [] }],
  ],
};
// a trained tokenizer: its Hugging Face files and the record of its training
const TOKENIZER: Layout = { files: ['tokenizer.json', 'tokenizer_config.json', 'tokenizer-train.json'], dirs: [] };
const LAYOUTS: Record<OutputKind, Layout> = { model: MODEL, run: RUN, experiment: EXPERIMENT, handoff: HANDOFF, tokenizer: TOKENIZER };
const KIND_WORDS: Record<OutputKind, string> = {
  model: 'a model folder',
  run: 'a training run',
  experiment: 'an experiment',
  handoff: 'a hand-off folder',
  tokenizer: 'a tokenizer folder',
};

/** Paths under `dir` (relative, folders with a trailing '/') that Scion does not write in a folder of this layout. */
async function foreignEntries(dir: string, layout: Layout, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const name = e.name;
    const r = rel + name;
    if (SCION_NAMES.some((p) => matches(p, name))) continue;
    if (e.isDirectory()) {
      const sub = layout.dirs.find(([p]) => matches(p, name));
      if (sub) out.push(...(await foreignEntries(path.join(dir, name), sub[1], r + '/')));
      else out.push(r + '/');
    } else if (!(e.isFile() && layout.files.some((p) => matches(p, name)))) {
      out.push(r);
    }
  }
  return out;
}

/** The kind a folder's marker names, if it has a readable one. */
async function markedKind(dir: string): Promise<OutputKind | undefined> {
  try {
    const m = JSON.parse(await fs.readFile(path.join(dir, OUTPUT_MARKER), 'utf8')) as { kind?: unknown };
    return typeof m.kind === 'string' && m.kind in LAYOUTS ? (m.kind as OutputKind) : undefined;
  } catch {
    return undefined;
  }
}

/** `p` resolved through symbolic links as far as it exists (so a link cannot hide an overlap). */
function realPath(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

function inside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export interface OutputInput {
  /** What it is, e.g. 'the source model', '--data'. */
  what: string;
  path: string;
}

export interface OutputRequest {
  out: string;
  kind: OutputKind;
  /** The command, for messages ('grow', 'export', 'train', 'experiment'). */
  command: string;
  inputs: OutputInput[];
  /** --force: replace an existing folder (only one Scion wrote). */
  force: boolean;
}

/**
 * Refuses `out` when it overlaps an input (E_USAGE); says how an existing folder may be used:
 * 'new' (absent), 'empty', 'replace' (Scion's, with --force), 'continue' (an experiment's, re-run).
 * Throws E_EXISTS (exists, no --force) or E_NOT_SCION (holds files Scion did not write).
 */
export async function checkOutputDir(req: OutputRequest): Promise<'new' | 'empty' | 'replace' | 'continue'> {
  const { out, kind } = req;
  const outReal = realPath(out);
  await recoverInterrupted(path.dirname(outReal));
  for (const input of req.inputs) {
    const inReal = realPath(input.path);
    const how = outReal === inReal ? 'is' : inside(inReal, outReal) ? 'contains' : inside(outReal, inReal) ? 'is inside' : undefined;
    if (how) throw new ScionError(`${out}: the output folder ${how} ${input.what} ${input.path}; choose another --out`, 'E_USAGE', out);
  }
  let st;
  try {
    st = await fs.stat(outReal);
  } catch {
    return 'new';
  }
  if (!st.isDirectory()) throw new ScionError(`${out}: exists and is not a folder; refusing to replace it`, 'E_EXISTS', out);
  if ((await fs.readdir(outReal)).every(isLockName)) return 'empty'; // nothing, or only the lock this process holds
  const marked = await markedKind(outReal);
  if (marked !== undefined && marked !== kind)
    throw new ScionError(
      `${out}: holds ${KIND_WORDS[marked]} written by Scion, not ${KIND_WORDS[kind]}; scion ${req.command} does not replace it (pick another --out)`,
      'E_NOT_SCION',
      out,
    );
  const foreign = await foreignEntries(outReal, LAYOUTS[kind]);
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, ... (${foreign.length} in all)` : '');
    const what = kind === 'run' ? 'the folder is not empty and is not a training run' : `the folder is not ${KIND_WORDS[kind]} Scion wrote`;
    throw new ScionError(
      `${out}: ${what}: it holds ${shown}, which Scion did not write; Scion never writes into or replaces such a folder, even with --force (move those files or pick another --out)`,
      'E_NOT_SCION',
      out,
    );
  }
  if (kind === 'experiment') return 'continue';
  if (!req.force) {
    const msg =
      kind === 'run'
        ? `${out}: a training run is already there (continue it with --resume ${out}, replace it with --force, or pick another --out)`
        : `${out}: already exists; pass --force to replace it`;
    throw new ScionError(msg, kind === 'run' ? 'E_RUN' : 'E_EXISTS', out);
  }
  return 'replace';
}
