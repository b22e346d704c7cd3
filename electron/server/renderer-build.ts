/**
 * Where the built renderer lives (dist/renderer) and building it with vite when it is
 * missing, so `scion serve` works from a fresh clone.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', new URL('.', import.meta.url)));
export const RENDERER_DIST = join(REPO_ROOT, 'dist', 'renderer');

export function rendererBuilt(dir = RENDERER_DIST): boolean {
  return existsSync(join(dir, 'index.html'));
}

/** Runs `vite build` for renderer/ (vite is a dev dependency: a packaged app ships the build). */
export async function buildRenderer(log: (line: string) => void): Promise<void> {
  log('building the renderer (vite) into dist/renderer ...');
  const vite = await import('vite');
  await vite.build({ configFile: join(REPO_ROOT, 'renderer', 'vite.config.ts'), logLevel: 'warn' });
}
