/**
 * `scion serve`: the app in a browser. Serves the built renderer and the typed contract over
 * a WebSocket on 127.0.0.1 only; the printed URL carries a random token. Jobs run in forked
 * worker processes, as in the app.
 */
import { resolve } from 'node:path';
import { buildRenderer, RENDERER_DIST, rendererBuilt } from '../../server/renderer-build.ts';
import { ScionError, systemProblem } from '../../engine/errors.ts';
import { startServer } from '../../server/server.ts';
import { createService } from '../../service/service.ts';
import { COMMON_OPTIONS, type Command, intOption, log, parseCommandArgs, writeJson } from '../command.ts';

const OPTIONS = {
  ...COMMON_OPTIONS,
  project: { type: 'string' },
  port: { type: 'string' },
  rebuild: { type: 'boolean', default: false },
} as const;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the app in a browser (127.0.0.1 only, token in the printed URL)',
  usage: 'scion serve [--project DIR] [--port P] [--rebuild] [--backend NAME] [--json]',
  async run(argv, io) {
    const { values } = parseCommandArgs('serve', argv, OPTIONS, false);
    const port = intOption('serve', 'port', values.port, 0, 0, 65535);
    if (values.rebuild || !rendererBuilt()) await buildRenderer((l) => log(io, l));
    if (values.backend) process.env['SCION_BACKEND'] = values.backend;
    const service = createService({ mode: 'browser', ...(values.project ? { projectDir: resolve(values.project) } : {}) });
    await service.ready;
    const server = await startServer({ service, rendererDir: RENDERER_DIST, port }).catch(async (e: unknown) => {
      await service.close();
      const problem = systemProblem(e);
      throw problem !== undefined ? new ScionError(`--port ${port}: cannot listen on 127.0.0.1:${port}: ${problem}`, 'E_PORT') : e;
    });
    if (values.json) writeJson(io, { url: server.url, port: server.port });
    else io.stdout.write(`Scion is serving on ${server.url}\n(127.0.0.1 only; the token in the URL is required. Ctrl-C stops.)\n`);
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    log(io, 'stopping ...');
    await server.close();
    await service.close();
    return 0;
  },
};
