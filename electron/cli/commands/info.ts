/** `scion info`: which backend Scion got, why faster ones were not available, and versions. */
import { initBackend } from '../../engine/backend.ts';
import { COMMON_OPTIONS, type Command, parseCommandArgs, writeJson } from '../command.ts';

export const infoCommand: Command = {
  name: 'info',
  summary: 'show the tfjs backend in use, why faster ones are unavailable, and versions',
  usage: 'scion info [--backend NAME] [--json]',
  async run(argv, io) {
    const { values } = parseCommandArgs('info', argv, COMMON_OPTIONS, false);
    const info = await initBackend(values.backend);
    if (values.json) {
      writeJson(io, { backend: info.name, tfBackend: info.tfBackend, attempts: info.attempts, versions: info.versions });
      return 0;
    }
    const lines = [`backend: ${info.name} (tfjs '${info.tfBackend}')`, '', 'tried, fastest first:'];
    for (const a of info.attempts) lines.push(`  ${a.ok ? 'ok ' : 'no '} ${a.name}${a.reason ? `: ${a.reason}` : ''}`);
    lines.push('', 'versions:');
    for (const [k, v] of Object.entries(info.versions)) lines.push(`  ${k.padEnd(22)} ${v}`);
    io.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
