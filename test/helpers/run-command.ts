/** Runs `scion` (`main`) or one command in this process, capturing what it writes to stdout and stderr; or the real CLI in a child process. */
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
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

/** Runs the real `scion` command (bin/scion.js) in a child process, as a user does. */
export function runScion(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): { code: number | null; stdout: string; stderr: string } {
  const bin = fileURLToPath(new URL('../../bin/scion.js', import.meta.url));
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: { ...process.env, SCION_BACKEND: 'wasm', ...opts.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
