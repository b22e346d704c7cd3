/**
 * The electron-builder configuration is valid for electron-builder's own schema, names the
 * installers for Linux, macOS and Windows, keeps the native and wasm tfjs files out of the
 * asar, and package.json's "main" is the file build/build-app.mjs writes; where Electron's
 * binary cannot be downloaded, `npm start` says what to do instead.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { templatesDir } from '../../electron/engine/handoff/write-handoff.ts';
import { REPO } from './harness.ts';

const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };
const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
  validateConfiguration(cfg: unknown, log: { add(): void; isEnabled: boolean }): Promise<void>;
};

interface BuilderConfig {
  linux: { target: string[] };
  mac: { target: string[] };
  win: { target: string[] };
  asar: boolean;
  asarUnpack: string[];
  files: string[];
  extraResources: Array<{ from: string; to: string }>;
}
const config = yaml.load(readFileSync(join(REPO, 'build', 'electron-builder.yml'), 'utf8')) as BuilderConfig;

test('electron-builder accepts the configuration (its own schema)', async () => {
  await validateConfiguration(config, { add() {}, isEnabled: false });
  await assert.rejects(validateConfiguration({ ...config, notAnOption: true }, { add() {}, isEnabled: false }), /notAnOption/);
});

test('installers for Linux (AppImage, deb), macOS (dmg) and Windows (nsis)', () => {
  assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
  assert.deepEqual(config.mac.target, ['dmg']);
  assert.deepEqual(config.win.target, ['nsis']);
});

test('native and wasm tfjs packages are unpacked from the asar', () => {
  assert.equal(config.asar, true);
  for (const p of [
    'node_modules/@tensorflow/tfjs-node/**',
    'node_modules/@tensorflow/tfjs-node-gpu/**',
    'node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm',
  ])
    assert.ok(config.asarUnpack.includes(p), p);
});

test('package.json main is the built main process, and the build output is packaged', () => {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { main: string; scripts: Record<string, string> };
  assert.equal(pkg.main, 'dist/electron/main/main.js');
  assert.match(readFileSync(join(REPO, 'build', 'build-app.mjs'), 'utf8'), /'electron\/main\/main': 'electron\/main\/main\.ts'/);
  assert.ok(config.files.includes('dist/electron/**/*') && config.files.includes('dist/renderer/**/*'));
  assert.match(pkg.scripts['dist'] ?? '', /electron-builder --config build\/electron-builder\.yml/);
});

test("the hand-off's templates ship as a resource, where write-handoff.ts looks in a packaged app (<resources>/handoff)", () => {
  const entry = config.extraResources.find((r) => r.from === 'resources/handoff');
  assert.equal(entry?.to, 'handoff');
  // a packaged app: <resourcesPath>/handoff/train.py is where templatesDir looks first; without it, the checkout's
  const packaged = mkdtempSync(join(tmpdir(), 'scion-resources-'));
  const proc = process as { resourcesPath?: string };
  try {
    mkdirSync(join(packaged, 'handoff'), { recursive: true });
    assert.equal(templatesDir(), join(REPO, 'resources', 'handoff'), 'no resourcesPath: the checkout');
    proc.resourcesPath = packaged;
    assert.equal(templatesDir(), join(REPO, 'resources', 'handoff'), 'a resourcesPath without handoff/train.py: the checkout');
    writeFileSync(join(packaged, 'handoff', 'train.py'), '');
    assert.equal(templatesDir(), join(packaged, 'handoff'), 'a packaged app: <resources>/handoff');
  } finally {
    delete proc.resourcesPath;
    rmSync(packaged, { recursive: true, force: true });
  }
  for (const f of ['train.py', 'scion_torch_models.py', 'launch.sh', 'requirements.txt', 'README.md'])
    assert.ok(existsSync(join(REPO, 'resources', 'handoff', f)), f);
});

test('npm start where Electron cannot be downloaded: what failed and what to do, no stack trace', (t) => {
  if (existsSync(join(REPO, 'node_modules', 'electron', 'path.txt'))) return t.skip("Electron's binary is installed here: nothing to download");
  const cache = mkdtempSync(join(tmpdir(), 'scion-electron-cache-'));
  try {
    const r = spawnSync(process.execPath, [join(REPO, 'build', 'setup-electron.mjs')], {
      encoding: 'utf8',
      timeout: 60_000,
      // an address that refuses at once, and an empty cache: the download fails as offline
      env: { ...process.env, ELECTRON_MIRROR: 'http://127.0.0.1:9/', electron_config_cache: cache },
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^scion: could not download Electron's binary \(.+\)\./);
    assert.match(r.stderr, /npx scion serve/);
    assert.match(r.stderr, /ELECTRON_OVERRIDE_DIST_PATH=/);
    assert.match(r.stderr, /ELECTRON_MIRROR=/);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
