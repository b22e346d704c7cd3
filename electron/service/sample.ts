/** sample.start: text from each chosen model with one prompt and seed, in one worker job (streamed as `text` events). */
import type { JobInfo, SampleRequest } from '../shared/contract.ts';
import type { SampleSpec } from '../jobs/messages.ts';
import type { Project } from '../store/project.ts';
import type { JobManager } from './jobs.ts';

export async function startSample(project: Project, jobs: JobManager, req: SampleRequest): Promise<JobInfo> {
  const models = [...new Set(req.modelIds)].map((id) => project.get('models', id));
  const spec: SampleSpec = {
    kind: 'sample',
    models: models.map((m) => ({ modelId: m.id, modelDir: m.path })),
    prompt: req.prompt,
    tokens: req.tokens,
    temperature: req.temperature,
    topK: req.topK,
    seed: req.seed,
  };
  return jobs.start({
    kind: 'sample',
    title: `Sample ${req.tokens} tokens from ${models.map((m) => m.name).join(', ')} (seed ${req.seed})`,
    uses: models.map((m) => m.id),
    spec,
    finish: async () => undefined,
  });
}
