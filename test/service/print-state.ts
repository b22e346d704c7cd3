/** Child process for roundtrip.test.ts: opens a project in a fresh process and prints what it sees. */
import { createService } from '../../electron/service/service.ts';

const [dir, recentFile] = process.argv.slice(2) as [string, string];
const svc = createService({ recentFile });
const state = await svc.call('project.open', { dir });
const metrics: Record<string, unknown> = {};
for (const t of state.trainings) metrics[t.id] = await svc.call('train.metrics', { trainingId: t.id });
await svc.close();
process.stdout.write(JSON.stringify({ state, metrics }) + '\n');
