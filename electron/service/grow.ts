/**
 * Growth: the methods, a live preview of the target shape (validated by the growth planner,
 * which names what would work), and grow jobs. A grow job writes the grown folder into its
 * job folder; when it succeeds, the folder becomes a model entry with its lineage (source,
 * method, options, seed, the function-preservation check); growth.json stays in the model folder.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { GrowRequest, GrowthCheck, JobInfo, ModelEntry, ShapePreview } from '../shared/contract.ts';
import { errorMessage } from '../engine/errors.ts';
import { planGrowth } from '../engine/growth/plan.ts';
import { type GrowOptions, pickGrowOptions } from '../engine/growth/options.ts';
import { contextLength, modelShape } from '../engine/models/config.ts';
import { flopsPerToken, parameterCount } from '../engine/models/family.ts';
import { readModelConfig } from '../engine/models/model.ts';
import { inspectModelFolder } from '../store/models.ts';
import type { Project } from '../store/project.ts';
import type { JobManager } from './jobs.ts';

/** The growth options of a request (the fields the growth code understands). */
export function growOptions(req: Omit<GrowRequest, 'name'>): GrowOptions {
  return pickGrowOptions(req);
}

export async function previewGrowth(project: Project, req: Omit<GrowRequest, 'name'>): Promise<ShapePreview> {
  const source = project.get('models', req.sourceId);
  try {
    const { config } = await readModelConfig(source.path);
    const target = planGrowth(config, growOptions(req));
    return { ok: true, shape: modelShape(target), params: parameterCount(target), flopsPerToken: flopsPerToken(target, contextLength(target)) };
  } catch (e) {
    return { ok: false, error: errorMessage(e) };
  }
}

export async function startGrow(project: Project, jobs: JobManager, req: GrowRequest): Promise<JobInfo> {
  const source = project.get('models', req.sourceId);
  const check = req.checkDatasetId ? project.get('datasets', req.checkDatasetId) : undefined;
  const options = growOptions(req);
  const { config } = await readModelConfig(source.path);
  planGrowth(config, options); // an impossible shape is refused now, not in the worker
  const jobId = jobs.newId('grow');
  const outDir = path.join(jobs.workDir(jobId), 'grown');
  // the new model's id is known from the start: the job names it, and the UI selects it when the job is done
  const id = project.newId(req.name);
  return jobs.start(
    {
      kind: 'grow',
      entryId: id,
      uses: [source.id, ...(check ? [check.id] : [])],
      title: `Grow ${source.name} with ${req.method} into ${req.name}`,
      spec: {
        kind: 'grow',
        sourceDir: source.path,
        outDir,
        options,
        ...(check ? { checkDataFile: check.path } : {}),
      },
      finish: async (outcome) => {
        try {
          if (outcome.status !== 'done' || outcome.result.kind !== 'grow') return;
          const r = outcome.result;
          const info = await inspectModelFolder(outDir);
          await project.create('models', id, async (tmp) => {
            await fs.rename(outDir, path.join(tmp, 'model')); // growth.json is in it: growModelDir writes it with the weights
            return {
              id,
              kind: 'grown',
              name: req.name,
              path: path.join(tmp, 'model'),
              referenced: false,
              shape: info.shape,
              params: info.params,
              createdAt: new Date().toISOString(),
              lineage: {
                parent: source.id,
                method: req.method,
                options: { ...options },
                seed: req.seed ?? 0,
                ...(r.check ? { growth: r.check satisfies GrowthCheck } : {}),
              },
            } satisfies ModelEntry;
          });
        } finally {
          await fs.rm(path.dirname(outDir), { recursive: true, force: true });
        }
      },
    },
    jobId,
  );
}
