/**
 * Growth at several source ages (`--source-ages a,b,c`, issue 18: staged training's question,
 * when to grow). The source run of a preset keeps its model at each age as it trains: the
 * trainer is stopped at that step (which writes a checkpoint), the checkpoint's model is copied
 * to `<out>/source/ages/step-N/`, and the run resumes, which gives the same run as one never
 * stopped (resume is exact). So an age's model is the source run mid-schedule at that step, not
 * a shorter source trained with its own schedule. Ages already on disk are reused; a finished
 * (or resumed) source run that lacks an age takes it from a kept checkpoint at that step, or
 * retrains the source up to it in `<out>/source/ages/run` (same settings: the same model up
 * to float rounding when the thread count differs). A source trained again (other settings or
 * tokenizer) drops the ages of the old one.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { atomicWriteDir } from '../io/atomic.ts';
import { latestValidCheckpoint, listCheckpoints } from '../train/checkpoint.ts';
import { resolveTrainOptions, type TrainOptions } from '../train/options.ts';
import { readRunConfig, resumeRun, type TrainCallbacks, trainRun } from '../train/run.ts';
import type { ModelConfig } from '../models/config.ts';
import { parseRunSpec, type RunSpec } from './methods.ts';
import { parseNumberList } from './number-list.ts';
import type { ExperimentOptions } from './options.ts';
import { sameRun } from './train-runs.ts';

/** The source model at one age (step of its run) before the last. */
export interface SourceAge {
  step: number;
  /** Its model folder, `<out>/source/ages/step-N/`. */
  dir: string;
  /** Tokens the source had read at that step. */
  tokens: number;
}

/** What `--source-ages` and `--age-methods` ask for, checked. */
export interface AgePlan {
  /** Ages before the source's last step, ascending (the last step's runs are the experiment's own). */
  ages: number[];
  /** The run specs grown at each of those ages. */
  specs: RunSpec[];
}

export const agesRoot = (out: string) => path.join(out, 'source', 'ages');
export const sourceAgeDir = (out: string, step: number) => path.join(agesRoot(out), `step-${step}`);
/** A run's label at a source age: `zero-pad@src250`. */
export const ageLabel = (label: string, step: number) => `${label}@src${step}`;

/** Parses `--source-ages 250,500,1000`: distinct integers >= 1. */
export function parseSourceAges(list: string): number[] {
  return parseNumberList(list, 'source-ages', (a) => Number.isInteger(a) && a >= 1, 'source steps (integers >= 1) separated by commas, e.g. 250,500,1000');
}

/** Checks the ages against the source recipe and the age methods against --methods, before anything is written. */
export function checkSourceAges(opts: ExperimentOptions, specs: RunSpec[]): AgePlan | undefined {
  if (opts.sourceAges === undefined) {
    if (opts.ageMethods !== undefined) throw new ScionError('--age-methods chooses the runs grown at each --source-ages: give --source-ages too', 'E_USAGE');
    return undefined;
  }
  if (!opts.sourceRecipe)
    throw new ScionError('--source-ages needs the experiment to train its source (--preset): a given source model has no earlier ages', 'E_USAGE');
  const last = opts.sourceRecipe.training.steps;
  for (const a of opts.sourceAges) {
    if (!Number.isInteger(a) || a < 1) throw new ScionError(`--source-ages: ${a} is not a step (an integer >= 1)`, 'E_USAGE');
    if (a > last) throw new ScionError(`--source-ages: ${a} is beyond the source's ${last} training steps (--source-steps)`, 'E_USAGE');
  }
  const grown = specs.filter((s) => s.method !== 'scratch');
  const wanted = opts.ageMethods?.split(',').filter((s) => s.trim()) ?? [];
  const ageSpecs =
    wanted.length > 0
      ? wanted.map((w) => {
          const label = parseRunSpec(w).label;
          const s = grown.find((g) => g.label === label);
          if (!s) throw new ScionError(`--age-methods: '${label}' is not a grown run of --methods (${grown.map((g) => g.label).join(', ')})`, 'E_USAGE');
          return s;
        })
      : grown.slice(0, 1);
  if (ageSpecs.length === 0) throw new ScionError('--source-ages grows the source at each age: --methods needs a growth method', 'E_USAGE');
  if (new Set(ageSpecs.map((s) => s.label)).size !== ageSpecs.length) throw new ScionError('--age-methods: a run is listed twice', 'E_USAGE');
  const moments = ageSpecs.find((s) => s.after.includes('moments'));
  if (moments) throw new ScionError(`--age-methods: '${moments.label}': +moments carries the final source's moments; it is not run at earlier ages`, 'E_USAGE');
  return { ages: [...new Set(opts.sourceAges)].filter((a) => a < last).sort((a, b) => a - b), specs: ageSpecs };
}

/** Copies a checkpoint's model into the age's folder (atomically). */
async function keepAge(out: string, step: number, checkpoint: string, log: (l: string) => void): Promise<void> {
  await atomicWriteDir(sourceAgeDir(out, step), (tmp) => fs.cp(path.join(checkpoint, 'model'), tmp, { recursive: true }));
  log(`source: kept its model at step ${step} -> ${sourceAgeDir(out, step)}`);
}

/** Ages of `missing` that a checkpoint of `runDir` holds exactly: copied; returns the rest. */
async function fromCheckpoints(out: string, runDir: string, missing: number[], log: (l: string) => void): Promise<number[]> {
  const kept = await listCheckpoints(runDir);
  const rest: number[] = [];
  for (const a of missing) {
    const c = kept.find((k) => k.step === a);
    if (c) await keepAge(out, a, c.dir, log);
    else rest.push(a);
  }
  return rest;
}

/**
 * Trains (`resume` false: afresh) or resumes the run `train.out`, stopping at each of `stops`
 * (steps past where it stands) to keep the source's model there, then going on; with `until`
 * it stops for good at that step. Resolves 'interrupted' when the caller's signal stopped it.
 */
async function trainKeepingAges(
  out: string,
  train: TrainOptions,
  resume: boolean,
  stops: number[],
  cb: TrainCallbacks,
  until?: number,
): Promise<'completed' | 'interrupted' | 'stopped'> {
  const log = cb.onLog ?? (() => undefined);
  const pending = [...stops].sort((a, b) => a - b);
  let resuming = resume;
  for (;;) {
    const next = pending[0];
    const stop = new AbortController();
    const forward = () => stop.abort();
    cb.signal?.addEventListener('abort', forward, { once: true });
    if (cb.signal?.aborted) stop.abort();
    const tcb: TrainCallbacks = {
      ...cb,
      signal: stop.signal,
      onMetric: (m) => {
        cb.onMetric?.(m);
        if (m.step === next) stop.abort();
      },
    };
    try {
      const r = resuming ? await resumeRun(train.out, tcb) : await trainRun({ ...train, force: true }, tcb);
      resuming = true;
      if (cb.signal?.aborted) return 'interrupted';
      if (r.status === 'completed') return 'completed';
      if (r.step !== next || !r.checkpoint)
        throw new ScionError(`${train.out}: the source run stopped at step ${r.step}, not at age ${next}`, 'E_RUN', train.out);
      await keepAge(out, next, r.checkpoint, log);
      pending.shift();
      if (until !== undefined && next >= until) return 'stopped';
    } finally {
      cb.signal?.removeEventListener('abort', forward);
    }
  }
}

const interrupted = (dir: string) =>
  new ScionError('experiment interrupted while training the source; run the same command again to continue', 'E_INTERRUPTED', dir);

/**
 * Trains or resumes the source run (`fresh`: afresh) keeping its model at every age of `ages`
 * not yet on disk; ages it has already passed come from its kept checkpoints or from the side
 * run. Throws E_INTERRUPTED when the caller's signal stopped it.
 */
export async function trainSourceWithAges(
  out: string,
  train: TrainOptions,
  config: ModelConfig,
  mode: 'done' | 'resume' | 'fresh',
  ages: number[],
  cb: TrainCallbacks,
): Promise<SourceAge[]> {
  const log = cb.onLog ?? (() => undefined);
  const runDir = train.out;
  let missing = ages.filter((a) => !existsSync(path.join(sourceAgeDir(out, a), 'config.json')));
  const present = ages.filter((a) => !missing.includes(a));
  if (present.length > 0) log(`source: reusing its models at step(s) ${present.join(', ')} (${agesRoot(out)})`);
  const at = mode === 'fresh' ? 0 : mode === 'done' ? Infinity : ((await latestValidCheckpoint(runDir))?.step ?? 0);
  if (mode !== 'done') {
    const status = await trainKeepingAges(
      out,
      train,
      mode === 'resume',
      missing.filter((a) => a > at),
      cb,
    );
    if (status !== 'completed') throw interrupted(runDir);
    missing = missing.filter((a) => a <= at);
  }
  missing = await fromCheckpoints(out, runDir, missing, log);
  if (missing.length > 0) {
    // the source run went past these ages without keeping them: train it again up to the last one beside it
    const side = path.join(agesRoot(out), 'run');
    const sideTrain: TrainOptions = { ...train, out: side };
    missing = await fromCheckpoints(out, side, missing, log);
    if (missing.length > 0) {
      const wanted = resolveTrainOptions(sideTrain, config);
      const sideAt = existsSync(path.join(side, 'run.json')) ? ((await latestValidCheckpoint(side))?.step ?? 0) : Infinity;
      const resume = sideAt <= missing[0]! && sameRun((await readRunConfig(side)).options, wanted);
      log(
        `source: ${resume ? 'resuming' : 'training'} a copy of the source run up to step ${missing[missing.length - 1]} for its model(s) at step(s) ${missing.join(', ')} -> ${side}`,
      );
      const status = await trainKeepingAges(out, sideTrain, resume, missing, cb, missing[missing.length - 1]);
      if (status === 'interrupted') throw interrupted(side);
    }
  }
  const t = resolveTrainOptions(train, config);
  return ages.map((step) => ({ step, dir: sourceAgeDir(out, step), tokens: step * t.batch * t.ctx * t.gradAccum }));
}
