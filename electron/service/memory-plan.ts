/**
 * The memory plan of the app's forms (memory.plan), asked as the user fills a train, grow or
 * evaluate form, before they click: the same estimate and refusal the CLI and the job's worker
 * apply (engine/memory/fit.ts), for the backend the jobs run on. The service process starts no
 * tfjs backend, so the backend is the one the settings name, else the one the project's last
 * job ran on, else the one the automatic choice would take here without a GPU probe (the
 * worker's own plan is the last word; the line says which).
 */
import { createRequire } from 'node:module';
import type { ApiParams, MemoryPlan } from '../shared/contract.ts';
import { errorMessage } from '../engine/errors.ts';
import { defaultEvalBatch } from '../engine/eval/evaluate.ts';
import { formatBytes } from '../engine/memory/estimate.ts';
import { backendCapacity, breakdown, growthCheckBytes, growthCheckLength, planWork, requireGrowthCheckFits } from '../engine/memory/fit.ts';
import { planGrowth } from '../engine/growth/plan.ts';
import { type ModelConfig, contextLength } from '../engine/models/config.ts';
import { readModelConfig } from '../engine/models/model.ts';
import type { Project } from '../store/project.ts';
import { growOptions } from './grow.ts';

const require = createRequire(import.meta.url);

/** The backend a job would run on, and how that is known. */
export function planBackend(project: Project, configured: string | undefined): Pick<MemoryPlan, 'backend' | 'backendFrom'> {
  if (configured && configured !== 'auto') return { backend: configured, backendFrom: 'settings' };
  const ran = [...project.jobs.values()].filter((j) => j.backend).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  if (ran?.backend) return { backend: ran.backend, backendFrom: 'last job' };
  for (const [pkg, name] of [
    ['@tensorflow/tfjs-node-gpu', 'tensorflow-gpu'],
    ['@tensorflow/tfjs-node', 'tensorflow'],
  ] as const) {
    try {
      require.resolve(pkg);
      return { backend: name, backendFrom: 'assumed' };
    } catch {
      // not installed: the next in the automatic order
    }
  }
  return { backend: 'wasm', backendFrom: 'assumed' };
}

const of = (bytes: number, backend: string): string => {
  const cap = backendCapacity(backend);
  return `about ${formatBytes(bytes)} of the ${formatBytes(cap.bytes)} that ${cap.what} holds (${backend})`;
};

function workPlan(
  work: 'train' | 'eval',
  config: ModelConfig,
  batch: number,
  ctx: number,
  where: Pick<MemoryPlan, 'backend' | 'backendFrom'>,
  recompute = false,
): MemoryPlan {
  const r = planWork(work, config, batch, ctx, where.backend, { recompute });
  const line = `${work === 'train' ? 'Training' : 'Evaluation'} at batch ${batch}, ctx ${ctx}${recompute ? ' with recomputation' : ''} needs ${of(r.estimate.total, where.backend)}: ${breakdown(r.estimate)}`;
  return { ok: r.ok, ...where, bytes: r.estimate.total, capacity: r.capacity.bytes, line, ...(r.message ? { refusal: r.message } : {}) };
}

/** The memory line of a form; never throws for a plan that does not fit (that is its answer). */
export async function memoryPlan(project: Project, req: ApiParams<'memory.plan'>, configured: string | undefined): Promise<MemoryPlan> {
  const where = planBackend(project, configured);
  if (req.work === 'train') {
    const { config } = await readModelConfig(project.get('models', req.modelId).path);
    return workPlan('train', config, req.batch, req.ctx, where, req.recompute === true);
  }
  if (req.work === 'evaluate') {
    // each model at its whole context with the evaluation's default batch (what evaluate.start runs); the largest decides
    const plans: MemoryPlan[] = [];
    for (const id of req.modelIds) {
      const m = project.get('models', id);
      const { config } = await readModelConfig(m.path);
      const ctx = contextLength(config);
      const p = workPlan('eval', config, defaultEvalBatch(ctx, config.vocabSize), ctx, where);
      plans.push(p.refusal ? { ...p, refusal: `${m.name}: ${p.refusal}` } : p);
    }
    return plans.find((p) => !p.ok) ?? plans.sort((a, b) => b.bytes - a.bytes)[0]!;
  }
  const { config: source } = await readModelConfig(project.get('models', req.sourceId).path);
  let target: ModelConfig;
  try {
    target = planGrowth(source, growOptions(req));
  } catch (e) {
    return { ok: false, ...where, bytes: 0, capacity: backendCapacity(where.backend).bytes, line: '', refusal: errorMessage(e) };
  }
  const length = Math.min(contextLength(source), contextLength(target), 256);
  const fitting = growthCheckLength(source, target, length, where.backend);
  const used = fitting || length;
  const bytes = growthCheckBytes(source, target, used).total;
  const shorter = fitting > 0 && fitting < length ? ` (windows shortened from ${length} tokens to fit)` : '';
  const line = `The growth check holds the source and the grown model with one ${used}-token window${shorter}: ${of(bytes, where.backend)}`;
  let refusal: string | undefined;
  if (fitting === 0)
    try {
      requireGrowthCheckFits(source, target, length, where.backend);
    } catch (e) {
      refusal = errorMessage(e);
    }
  return { ok: refusal === undefined, ...where, bytes, capacity: backendCapacity(where.backend).bytes, line, ...(refusal ? { refusal } : {}) };
}
