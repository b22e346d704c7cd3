/** The datasets every model of an experiment is scored on, and scoring one model folder on them. */
import * as path from 'node:path';
import { evaluate } from '../eval/evaluate.ts';
import { MaskRamp } from '../growth/mask-ramp.ts';
import { type Model, disposeParams, loadModel } from '../models/model.ts';
import type { TextTokenizer } from '../tokenizer/tokenizer.ts';
import { loadTokens, parseDataSpec, spreadWindows } from '../train/data.ts';
import type { DatasetScore } from './results.ts';

export interface EvalSet {
  name: string;
  spec: string;
  ids: Uint32Array;
}

function datasetName(spec: string): string {
  const d = parseDataSpec(spec);
  const base = path.basename(d.file).replace(/\.[^.]+$/, '');
  return d.from === 0 && d.to === 1 ? base : `${base}[${d.from}-${d.to}]`;
}

/** The val set first, then every other dataset once, as `windows` windows of `ctx` tokens. */
export async function loadEvalSets(specs: string[], tok: TextTokenizer, vocab: number, ctx: number, windows: number): Promise<EvalSet[]> {
  const sets: EvalSet[] = [];
  for (const spec of specs) {
    const ids = spreadWindows(await loadTokens(spec, tok, vocab), ctx, windows);
    sets.push({ name: datasetName(spec), spec, ids });
  }
  return sets;
}

async function scoreParams(model: Model, sets: EvalSet[], ctx: number): Promise<Record<string, DatasetScore>> {
  const out: Record<string, DatasetScore> = {};
  for (const s of sets) {
    const r = await evaluate(model, s.ids, { ctx });
    out[s.name] = { loss: r.loss, perplexity: r.perplexity, accuracy: r.accuracy };
  }
  return out;
}

/** Scores a model folder on every set; a model grown with msg is scored as training starts: masked at ramp 0. */
export async function scoreModel(dir: string, sets: EvalSet[], ctx: number): Promise<Record<string, DatasetScore>> {
  const model = await loadModel(dir);
  try {
    const ramp = await MaskRamp.ifPresent(dir, model.config);
    if (!ramp) return await scoreParams(model, sets, ctx);
    try {
      return await ramp.atStart(model.params, (params) => scoreParams({ ...model, params }, sets, ctx));
    } finally {
      ramp.dispose();
    }
  } finally {
    disposeParams(model.params);
  }
}
