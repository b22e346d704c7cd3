/**
 * `scion serve`'s guards, against the real service: 127.0.0.1 only, the token and the Origin
 * are required for the WebSocket, a foreign Host is refused, no file outside the renderer is
 * served, every page has a strict CSP, and the contract answers with readable errors.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createService, type ScionService } from '../../electron/service/service.ts';
import { startServer, type RunningServer } from '../../electron/server/server.ts';
import { connectWs, rpc } from '../helpers/ws-client.ts';
import { cleanup, tempHome } from './harness.ts';

let home = '';
let service: ScionService;
let server: RunningServer;

before(async () => {
  home = tempHome('scion-server-');
  // A stand-in for dist/renderer (this tests the server, not the app), with a secret beside it.
  const web = join(home, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><div id="app"></div>');
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(home, 'secret.txt'), 'do not serve');
  service = createService({ recentFile: join(home, 'recent.json') });
  server = await startServer({ service, rendererDir: web, port: 0 });
});
after(async () => {
  await server?.close();
  await service?.close();
  if (home) cleanup(home);
});

function get(path: string, host = `127.0.0.1:${server.port}`): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const connect = (query: string, origin: string | undefined) => connectWs(server.port, query, origin);

test('listens on 127.0.0.1 with a long random token in the URL', () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
});

test('serves the app with a strict CSP, nothing outside it, nothing to a foreign Host', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<div id="app">/);
  const csp = String(page.headers['content-security-policy']);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, new RegExp(`connect-src ws://127\\.0\\.0\\.1:${server.port}`));
  const js = await get('/assets/app.js');
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /javascript/);
  for (const p of [
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/assets/../../secret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/%00',
    '/%E0%A4%A',
  ]) {
    const r = await get(p);
    assert.equal(r.status, 404, p);
    assert.doesNotMatch(r.body, /do not serve/);
  }
  assert.equal((await get('/', 'evil.example:80')).status, 421);
});

test('the WebSocket needs the token and the app Origin', async () => {
  const origin = `http://127.0.0.1:${server.port}`;
  await assert.rejects(connect('', origin), /403/);
  await assert.rejects(connect('?token=wrong', origin), /403/);
  await assert.rejects(connect(`?token=${server.token}`, 'http://evil.example'), /403/);
  await assert.rejects(connect(`?token=${server.token}`, undefined), /403/);
  const ws = await connect(`?token=${server.token}`, origin);
  ws.close();
});

test('the contract over the socket: results, readable errors, validation', async () => {
  const ws = await connect(`?token=${server.token}`, `http://localhost:${server.port}`);
  try {
    const info = await rpc(ws, 1, 'app.info', {});
    assert.equal(info.ok, true);
    assert.equal((info.result as { mode: string }).mode, 'browser');
    const noProject = await rpc(ws, 2, 'project.state', {});
    assert.equal(noProject.ok, false);
    assert.match(noProject.error!.message, /no project is open/);
    const unknown = await rpc(ws, 3, 'fs.readFile', { path: '/etc/passwd' });
    assert.equal(unknown.ok, false);
    assert.match(unknown.error!.message, /unknown method/);
    const invalid = await rpc(ws, 4, 'project.create', { dir: 42 });
    assert.equal(invalid.ok, false);
    assert.match(invalid.error!.message, /project\.create: .*dir/);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('not json');
    assert.equal(await closed, 1003);
  } finally {
    ws.close();
  }
});
