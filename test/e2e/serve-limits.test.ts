/**
 * `scion serve` as users run it (a child process) stays up whatever a browser sends: a message
 * over the frame limit closes only that socket (1009), a request over the request limit gets a
 * readable E_TOO_LARGE answer, a path field holding a long string is refused by the schema,
 * and creating a project under /proc answers with an error instead of never answering.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WebSocket } from 'ws';
import { MAX_FRAME_BYTES, MAX_REQUEST_BYTES } from '../../electron/server/server.ts';
import { connectWs, rpc } from '../helpers/ws-client.ts';
import { cleanup, startServe, tempHome, type Served } from './harness.ts';

let home = '';
let served: Served;
let token = '';

before(async () => {
  home = tempHome('scion-serve-limits-');
  served = await startServe(home);
  token = new URL(served.url).searchParams.get('token')!;
});
after(async () => {
  await served?.stop();
  if (home) cleanup(home);
});

const open = (): Promise<WebSocket> => connectWs(served.port, `?token=${token}`, `http://127.0.0.1:${served.port}`);

/** A request document of about `bytes` bytes: a model.import whose path is a long pasted string. */
function bigImport(id: number, bytes: number): string {
  return JSON.stringify({ id, method: 'model.import', params: { path: '/' + 'x'.repeat(bytes), name: 'pasted', copy: false } });
}

async function stillServing(): Promise<void> {
  assert.equal(served.proc.exitCode, null, `scion serve exited:\n${served.stderr()}`);
  const ws = await open();
  try {
    const info = await rpc(ws, 99, 'app.info', {});
    assert.equal(info.ok, true);
  } finally {
    ws.close();
  }
}

test('a message over the frame limit closes that socket with 1009 and the server keeps serving', async () => {
  const ws = await open();
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.send(bigImport(1, MAX_FRAME_BYTES + 1024));
  assert.equal(await closed, 1009);
  await stillServing();
  assert.match(served.stderr(), /a browser connection failed: .*payload/i);
});

test('a request over the request limit (a path field holding 2 MiB) gets a readable E_TOO_LARGE answer', async () => {
  const ws = await open();
  try {
    const r = await rpc(ws, 2, '', {}, bigImport(2, 2 * MAX_REQUEST_BYTES));
    assert.equal(r.ok, false);
    assert.equal(r.error!.code, 'E_TOO_LARGE');
    assert.match(r.error!.message, /^model\.import: the request is 2\.0 MiB, over the 1\.0 MiB limit of scion serve/);
    // the same socket still answers
    assert.equal((await rpc(ws, 3, 'app.info', {})).ok, true);
  } finally {
    ws.close();
  }
  await stillServing();
});

test('a path longer than the OS allows is refused by the schema, naming the field', async () => {
  const ws = await open();
  try {
    for (const [method, params] of [
      ['model.import', { path: '/' + 'p'.repeat(5000), name: 'pasted', copy: false }],
      ['dataset.add', { path: '/' + 'p'.repeat(100_000), name: 'pasted', copy: true }],
      ['project.create', { dir: '/' + 'p'.repeat(5000), name: 'pasted' }],
    ] as const) {
      const r = await rpc(ws, 4, method, params);
      assert.equal(r.ok, false, method);
      assert.equal(r.error!.code, 'E_INVALID', method);
      assert.match(r.error!.message, /(path|dir): is not a path: longer than 4096 characters/, method);
      assert.ok(r.error!.message.length < 400, `${method}: the message echoes the pasted text (${r.error!.message.length} chars)`);
    }
  } finally {
    ws.close();
  }
});

test('creating a project under /proc answers with a clear error (it never answered before)', { skip: process.platform !== 'linux' }, async () => {
  const ws = await open();
  try {
    for (const dir of ['/proc/scion-project', '/proc/self/scion-project']) {
      const answer = rpc(ws, 5, 'project.create', { dir, name: 'p' });
      const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer to project.create ${dir} within 30 s`)), 30_000).unref());
      const r = await Promise.race([answer, late]);
      assert.equal(r.ok, false);
      assert.match(r.error!.message, new RegExp(`^${dir}: /proc is a virtual folder of the operating system, not a place for a project`));
    }
    // and the server still answers
    assert.equal((await rpc(ws, 6, 'project.recent', {})).ok, true);
  } finally {
    ws.close();
  }
  await stillServing();
});
