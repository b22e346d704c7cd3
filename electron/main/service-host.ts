/**
 * Starts the project service inside the main process with Electron's utilityProcess as the
 * job launcher: the service stays light (reads and writes small JSON documents), the jobs
 * run in worker processes.
 */
import { join } from 'node:path';
import { utilityProcessLauncher, type UtilityProcessLike } from '../jobs/launcher.ts';
import type { ServiceHandle } from '../server/service-handle.ts';
import { createService } from '../service/service.ts';

export interface HostOptions {
  utilityProcess: UtilityProcessLike;
  /** The bundled worker (dist/electron/worker/worker.js): no tsx in the app. */
  workerEntry: string;
  userDataDir: string;
  projectDir?: string;
}

export async function startService(opts: HostOptions): Promise<ServiceHandle> {
  const service = createService({
    mode: 'electron',
    launcher: utilityProcessLauncher(opts.utilityProcess, []),
    workerEntry: opts.workerEntry,
    recentFile: join(opts.userDataDir, 'recent-projects.json'),
    ...(opts.projectDir ? { projectDir: opts.projectDir } : {}),
  });
  await service.ready;
  return service;
}
