/**
 * Child process for crash.test.ts: the "app" (the service) starts a training and prints each
 * metric step, until the test kills it.
 */
import { createService } from '../../electron/service/service.ts';

const [dir, recentFile, modelId, datasetId] = process.argv.slice(2) as [string, string, string, string];
const svc = createService({ recentFile });
await svc.call('project.open', { dir });
svc.onEvent((e) => {
  if (e.type === 'metric') process.stdout.write(`step ${e.point.step}\n`);
});
await svc.call('train.start', {
  modelId,
  datasetId,
  name: 'Killed with the app',
  settings: { steps: 24, batch: 2, ctx: 32, checkpointEvery: 4, evalEvery: 100 },
});
