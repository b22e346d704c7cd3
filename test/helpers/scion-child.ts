/** Runs the real `scion` command in a child process (as users run it), without blocking the test's event loop. */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './fixtures.ts';

export const SCION_BIN = path.join(ROOT, 'bin', 'scion.js');

export function scionChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCION_BIN, ...args], {
      env: { ...process.env, SCION_BACKEND: 'wasm', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `scion grow` of `source` into `out` with the cheapest check (one window of 8 tokens), recorded in `project`. */
export function quickGrowArgs(source: string, out: string, project: string, method: string[] = ['--method', 'hypercloning', '--width-mult', '2']): string[] {
  return ['grow', source, '--out', out, ...method, '--check-windows', '1', '--check-ctx', '8', '--project', project];
}
