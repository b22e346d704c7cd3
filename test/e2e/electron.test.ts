/**
 * The desktop app's first steps with Playwright's Electron driver: the window opens on the
 * Projects screen with the sandboxed bridge, a project is created and the fixture imported.
 * Runs where an Electron binary is installed; elsewhere it says why it is skipped.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { _electron } from 'playwright-core';
import { cleanup, REPO, shot, tempHome } from './harness.ts';

/** The installed Electron binary, found without requiring the package (which would try to download it). */
function electronBinary(): { path?: string; why?: string } {
  if (process.env['ELECTRON_PATH'])
    return existsSync(process.env['ELECTRON_PATH'])
      ? { path: process.env['ELECTRON_PATH'] }
      : { why: `ELECTRON_PATH ${process.env['ELECTRON_PATH']} does not exist` };
  const pkg = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pathFile))
    return { why: `no Electron binary: ${pathFile} is missing (npm install downloads Electron with network access; or set ELECTRON_PATH)` };
  const exe = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(exe) ? { path: exe } : { why: `no Electron binary at ${exe}` };
}

const bin = electronBinary();
if (!bin.path) console.log(`# electron e2e skipped: ${bin.why}`);

test('electron: first steps in the desktop app', { skip: bin.path ? false : bin.why, timeout: 120_000 }, async () => {
  execFileSync(process.execPath, [join(REPO, 'build', 'build-app.mjs')], { cwd: REPO, stdio: 'inherit' });
  const home = tempHome('scion-electron-');
  const app = await _electron.launch({
    executablePath: bin.path!,
    // Chromium refuses to run its sandbox as root (CI containers); elsewhere the app runs fully sandboxed.
    args: [REPO, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
    cwd: REPO,
    env: { ...process.env, SCION_BACKEND: 'wasm', XDG_CONFIG_HOME: join(home, 'config') },
  });
  try {
    const page = await app.firstWindow();
    await page.getByTestId('create-dir').waitFor();
    assert.equal(await page.title(), 'Scion');
    // The page has the bridge and nothing of Node.
    assert.deepEqual(await page.evaluate('[typeof window.scion?.call, typeof globalThis.require, typeof globalThis.process]'), [
      'function',
      'undefined',
      'undefined',
    ]);
    assert.ok(String(await page.evaluate('location.href')).startsWith('scion-app://bundle/'));
    await page.getByTestId('create-dir').fill(join(home, 'project'));
    await page.getByTestId('create-project').click();
    await page.getByTestId('import-path').fill(join(REPO, 'test', 'fixtures', 'hf', 'gpt2-shakespeare-d64-l2'));
    await page.getByTestId('import-name').fill('shakespeare');
    await page.getByTestId('import-model').click();
    await page.getByTestId('model-shakespeare').waitFor({ timeout: 30_000 });
    await shot(page, 'electron-models');
  } finally {
    await app.close();
    cleanup(home);
  }
});
