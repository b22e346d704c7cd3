/**
 * Where what Scion ships lives: `<resources>/models`, `<resources>/data` (the three evaluation corpora) and
 * `<resources>/handoff`. In the packaged app that is Electron's `process.resourcesPath` (electron-builder's
 * extraResources); from a checkout, the repository's `resources/` folder.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_RESOURCES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'resources');

/** The folder `name` under the packaged app's resources when it holds `probe`, else under the repository's. */
export function resourceDir(name: string, probe: string): string {
  const packaged = (process as { resourcesPath?: string }).resourcesPath;
  if (packaged && existsSync(path.join(packaged, name, probe))) return path.join(packaged, name);
  return path.join(REPO_RESOURCES, name);
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
