/**
 * The Electron main process's border, in the parts that need no Electron binary: only the
 * contract's method names pass, and app URLs map to files inside the renderer folder only.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { API_METHODS, isApiMethod } from '../../electron/main/api-methods.ts';
import { appFileFor } from '../../electron/main/app-url.ts';

test('every contract method passes, nothing else does', () => {
  for (const m of API_METHODS) assert.ok(isApiMethod(m), m);
  for (const bad of ['', 'constructor', '__proto__', 'toString', 'fs.readFile', 'project.create ', 42, undefined, null, { method: 'app.info' }])
    assert.equal(isApiMethod(bad), false, String(bad));
});

test('app URLs map into the renderer folder, never out of it', () => {
  const root = '/opt/scion/dist/renderer';
  assert.equal(appFileFor(root, 'scion-app://bundle/'), join(root, 'index.html'));
  assert.equal(appFileFor(root, 'scion-app://bundle/index.html'), join(root, 'index.html'));
  assert.equal(appFileFor(root, 'scion-app://bundle/assets/index-abc.js?x=1'), join(root, 'assets', 'index-abc.js'));
  for (const bad of [
    'scion-app://bundle/../package.json',
    'scion-app://bundle/%2e%2e/%2e%2e/package.json',
    'scion-app://bundle/..%2f..%2fpackage.json',
    'scion-app://bundle/%00x',
    'scion-app://other/index.html',
    'file:///etc/passwd',
    'https://bundle/index.html',
    'not a url',
  ]) {
    const f = appFileFor(root, bad);
    assert.ok(f === undefined || f.startsWith(`${root}/`), `${bad} -> ${f}`);
    assert.notEqual(f, '/opt/scion/dist/package.json');
  }
  // URL parsing already removes dot segments, even encoded ones: they stay inside the folder.
  assert.equal(appFileFor(root, 'scion-app://bundle/%2e%2e/%2e%2e/package.json'), join(root, 'package.json'));
  assert.equal(appFileFor(root, 'file:///etc/passwd'), undefined);
});
