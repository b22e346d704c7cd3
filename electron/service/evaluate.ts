/** evaluate.start: every chosen model on every chosen dataset, in one worker job; one entry per pair. */
import type { EvaluationEntry, Id, JobInfo } from '../shared/contract.ts';
import type { EvaluateSpec } from '../jobs/messages.ts';
import { datasetSpec } from '../store/datasets.ts';
import type { Project } from '../store/project.ts';
import type { JobManager } from './jobs.ts';

export interface EvaluateRequest {
  modelIds: Id[];
  datasetIds: Id[];
  maxWindows?: number;
}

export async function startEvaluate(project: Project, jobs: JobManager, req: EvaluateRequest): Promise<JobInfo> {
  const models = [...new Set(req.modelIds)].map((id) => project.get('models', id));
  const datasets = [...new Set(req.datasetIds)].map((id) => project.get('datasets', id));
  const spec: EvaluateSpec = {
    kind: 'evaluate',
    pairs: models.flatMap((m) => datasets.map((d) => ({ modelId: m.id, modelDir: m.path, datasetId: d.id, dataFile: datasetSpec(d) }))),
    ...(req.maxWindows !== undefined ? { maxWindows: req.maxWindows } : {}),
  };
  const title = `Evaluate ${models.map((m) => m.name).join(', ')} on ${datasets.map((d) => d.name).join(', ')}`;
  return jobs.start({
    kind: 'evaluate',
    title,
    uses: [...models.map((m) => m.id), ...datasets.map((d) => d.id)],
    spec,
    finish: async (outcome) => {
      if (outcome.status !== 'done' && outcome.status !== 'cancelled') return;
      const result = outcome.result;
      if (result?.kind !== 'evaluate') return;
      for (const r of result.evaluations) {
        const model = project.models.get(r.modelId);
        const dataset = project.datasets.get(r.datasetId);
        if (!model || !dataset) continue; // deleted meanwhile
        const id = project.newId(`${model.name} on ${dataset.name}`);
        const entry: EvaluationEntry = {
          id,
          modelId: r.modelId,
          datasetId: r.datasetId,
          metrics: r.metrics,
          backend: result.backend,
          createdAt: new Date().toISOString(),
        };
        await project.create('evaluations', id, async () => entry);
        if (dataset.tokens?.[r.fingerprint] !== r.datasetTokens)
          await project.save('datasets', { ...dataset, tokens: { ...(dataset.tokens ?? {}), [r.fingerprint]: r.datasetTokens } });
      }
    },
  });
}
