/** Runs `scion` (`main`) or one command in this process, capturing what it writes to stdout and stderr. */
import { PassThrough } from 'node:stream';
import type { CommandIO } from '../../electron/cli/command.ts';

export async function runCommand(
  run: (argv: string[], io: CommandIO) => Promise<number>,
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await run(argv, { stdout, stderr });
  return { code, stdout: out, stderr: err };
}
