/**
 * Experiments: `scion experiment` as a job. Its folder (grown models, runs, results.json,
 * report.md/html) is jobs/<id>/experiment; a stopped or interrupted experiment continues
 * when started again into the same folder (finished runs are reused).
 */
import { datasetSpec } from '../store/datasets.ts';
import type { ExperimentResults } from '../engine/experiment/results.ts';
import { measuredLines } from '../engine/report/measured.ts';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ExperimentRequest, Id, JobInfo } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { parseRunSpecs } from '../engine/experiment/methods.ts';
import type { Project } from '../store/project.ts';
import type { JobManager } from './jobs.ts';

export function experimentDir(project: Project, jobId: Id): string {
  return path.join(project.folder('jobs', jobId), 'experiment');
}

export async function startExperiment(project: Project, jobs: JobManager, req: ExperimentRequest): Promise<JobInfo> {
  const source = project.get('models', req.sourceId);
  const data = project.get('datasets', req.datasetId);
  const val = project.get('datasets', req.valDatasetId);
  const extra = (req.evalDatasetIds ?? []).map((id) => project.get('datasets', id));
  parseRunSpecs(req.methods); // unknown methods are refused before a worker starts
  const jobId = jobs.newId('experiment');
  const settings = Object.fromEntries(Object.entries(req.settings).filter(([, v]) => v !== undefined));
  return jobs.start(
    {
      kind: 'experiment',
      uses: [source.id, data.id, val.id, ...extra.map((d) => d.id)],
      title: `Experiment ${req.name}: ${source.name} grown by ${req.methods}`,
      spec: {
        kind: 'experiment',
        outDir: experimentDir(project, jobId),
        options: {
          source: source.path,
          data: datasetSpec(data),
          val: datasetSpec(val),
          ...(extra.length ? { evalData: extra.map(datasetSpec) } : {}),
          target: req.target,
          methods: req.methods,
          ...(req.noiseDb !== undefined ? { noiseDb: req.noiseDb } : {}),
          training: { steps: 200, ...settings },
        },
      },
      finish: async () => undefined,
    },
    jobId,
  );
}

export async function experimentResults(project: Project, jobId: Id): Promise<Record<string, unknown>> {
  const job = project.get('jobs', jobId);
  if (job.kind !== 'experiment') throw new ScionError(`job '${jobId}' is a ${job.kind} job, not an experiment`, 'E_INVALID');
  const file = path.join(experimentDir(project, jobId), 'results.json');
  if (!existsSync(file)) throw new ScionError(`experiment '${job.title}' has no results yet (it is ${job.status})`, 'E_JOB_STATE', file);
  const doc = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  // what was measured, as the written reports lead with it (the UI does not import the engine)
  return doc['format'] === 'scion-experiment/1' && Array.isArray(doc['runs']) ? { ...doc, measured: measuredLines(doc as unknown as ExperimentResults) } : doc;
}
