/**
 * Step 3 of an experiment: grow the source once per method into models/<method>/ and score it,
 * and write the scratch run's folder (the target's config.json and the tokenizer). A method
 * grown differently than last time (its growth.json options changed, or it was grown from
 * another source: a preset's source trained again) cannot reuse its old runs, nor can scratch
 * when its folder changed (another target shape or tokenizer).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type GrowthReport, growModelDir } from '../growth/index.ts';
import { toHFConfig } from '../models/config.ts';
import { copySideFiles } from '../models/model.ts';
import { parseDataSpec } from '../train/data.ts';
import type { RunSpec } from './methods.ts';
import type { ModelScores } from './results.ts';
import { type EvalSet, scoreModel } from './score.ts';
import type { ExperimentSetup } from './setup.ts';

export interface GrownModels {
  /** Method -> its grown folder and growth report. */
  grown: Map<string, { dir: string; report: GrowthReport }>;
  /** Methods whose growth (options or source) changed since the folder was last grown; 'scratch' when its folder changed. */
  regrown: Set<string>;
}

/** The growth options and the source's hash recorded in a grown model's growth.json, as JSON text (undefined if none). */
async function growthOptionsIn(dir: string): Promise<string | undefined> {
  try {
    const g = JSON.parse(await fs.readFile(path.join(dir, 'growth.json'), 'utf8')) as { options?: unknown; source?: { sha256?: string } };
    return JSON.stringify([g.options ?? null, g.source?.sha256 ?? null]);
  } catch {
    return undefined;
  }
}

/** The scratch folder's config and tokenizer, as one text (undefined before it was first written). */
async function scratchFiles(dir: string): Promise<string | undefined> {
  const read = (name: string) => fs.readFile(path.join(dir, name), 'utf8').catch(() => '');
  const config = await read('config.json');
  return config === '' ? undefined : JSON.stringify([config, await read('tokenizer.json')]);
}

/**
 * Grows `source` once per method of `specs` into models/<name(method)>/ and scores each grown
 * model (recorded as run `name(method)`); a method grown differently than last time is in `regrown`.
 */
export async function growFrom(
  x: ExperimentSetup,
  source: string,
  specs: RunSpec[],
  name: (method: string) => string,
  sets: EvalSet[],
  evaluations: ModelScores[],
): Promise<GrownModels> {
  const grown = new Map<string, { dir: string; report: GrowthReport }>();
  const regrown = new Set<string>();
  for (const s of specs) {
    if (s.method === 'scratch' || grown.has(s.method)) continue;
    const dir = path.join(x.out, 'models', name(s.method));
    const before = await growthOptionsIn(dir);
    x.log(`growing ${source === x.opts.source ? '' : `${source} `}with ${s.method} -> ${dir}`);
    const report = await growModelDir(source, dir, {
      ...x.growOptions(s.method),
      checkData: parseDataSpec(x.opts.val).file,
      force: true,
      onLog: (l) => x.log(`  ${l}`),
    });
    grown.set(s.method, { dir, report });
    if (before !== undefined && before !== (await growthOptionsIn(dir))) regrown.add(s.method);
    evaluations.push({ model: dir, stage: 'grown', run: name(s.method), scores: await scoreModel(dir, sets, x.evalCtx) });
  }
  return { grown, regrown };
}

export async function growModels(x: ExperimentSetup, sets: EvalSet[], evaluations: ModelScores[]): Promise<GrownModels> {
  const { grown, regrown } = await growFrom(x, x.opts.source, x.specs, (m) => m, sets, evaluations);
  await fs.mkdir(x.scratchDir, { recursive: true });
  const scratchBefore = await scratchFiles(x.scratchDir);
  await fs.writeFile(path.join(x.scratchDir, 'config.json'), JSON.stringify(toHFConfig(x.targetConfig, x.sourceRaw), null, 2) + '\n');
  await copySideFiles(x.opts.source, x.scratchDir);
  if (scratchBefore !== undefined && scratchBefore !== (await scratchFiles(x.scratchDir))) regrown.add('scratch');
  return { grown, regrown };
}
