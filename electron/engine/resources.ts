/**
 * Where what Scion ships lives: `<resources>/data` (the three evaluation corpora), `<resources>/models`. In the
 * packaged app that is Electron's `process.resourcesPath` (electron-builder's extraResources); from a checkout, the
 * repository's `resources/` folder.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder `name` under the packaged app's resources when it holds `probe`, else the first `resources/<name>` holding
 * it above this module (the checkout's, from the sources or from a bundle in dist/), else the checkout's path.
 */
export function resourceDir(name: string, probe: string): string {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  if (packaged && existsSync(path.join(packaged, name, probe))) return path.join(packaged, name);
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'resources', name, probe))) return path.join(dir, 'resources', name);
    if (path.dirname(dir) === dir) return path.resolve(here, '..', '..', 'resources', name);
  }
}

/** The shipped evaluation corpora (tiny Shakespeare, WikiText-2 validation, Python source), those present. */
export function shippedDatasets(): string[] {
  const dir = resourceDir('data', 'tinyshakespeare.txt');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt') && !f.startsWith('.'))
    .sort()
    .map((f) => path.join(dir, f));
}
