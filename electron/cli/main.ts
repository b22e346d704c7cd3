/**
 * `scion <command> [options]`: the command-line face of the engine, for headless GPU servers
 * and scripts. Each command lives in its own file under commands/.
 */
import { isScionError, userMessage } from '../engine/errors.ts';
import type { Command, CommandIO } from './command.ts';
import { COMMANDS } from './commands/index.ts';

function help(commands: Command[]): string {
  const lines = ['usage: scion <command> [options]', '', 'commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(12)} ${c.summary}`);
  lines.push('', 'Every engine command takes --backend auto|tensorflow-gpu|tensorflow|webgpu|wasm|cpu (or SCION_BACKEND).');
  lines.push("Run 'scion <command> --help' for its options.");
  return lines.join('\n') + '\n';
}

export async function main(argv: string[], io: CommandIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(help(COMMANDS));
    return name ? 0 : 1;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr.write(`scion: unknown command '${name}'\n\n${help(COMMANDS)}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`usage: ${cmd.usage}\n\n${cmd.summary}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    io.stderr.write(`scion ${name}: error: ${userMessage(e)}\n`);
    if (!isScionError(e) && process.env['SCION_DEBUG'] && e instanceof Error) io.stderr.write(`${e.stack}\n`);
    return isScionError(e) && e.code === 'E_USAGE' ? 2 : 1;
  }
}
