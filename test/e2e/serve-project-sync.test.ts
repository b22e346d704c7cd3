/**
 * `scion serve --project P` holds P open while CLI commands record into it (`--project P`):
 * the CLI is not refused, its entries are not lost, and the server's API lists them at once
 * (no reopen), with a 'project-changed' event pushed to the browser so the UI refreshes.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { WebSocket } from 'ws';
import type { JobEvent, ProjectState } from '../../electron/shared/contract.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { quickGrowArgs, scionChild } from '../helpers/scion-child.ts';
import { connectWs, rpc } from '../helpers/ws-client.ts';
import { writeText } from '../service/util.ts';
import { cleanup, startServe, tempHome, type Served } from './harness.ts';

const SOURCE = fixtureDir('gpt2-shakespeare-d64-l2');
let home = '';
let served: Served;
let ws: WebSocket;
const events: JobEvent[] = [];
const proj = () => join(home, 'proj');

before(async () => {
  home = tempHome('scion-serve-sync-');
  // the project exists (made by a CLI grow), then the server opens it
  const first = await scionChild(quickGrowArgs(SOURCE, join(home, 'grown'), proj()));
  assert.equal(first.code, 0, first.stderr);
  served = await startServe(home, ['--project', proj()]);
  const token = new URL(served.url).searchParams.get('token')!;
  ws = await connectWs(served.port, `?token=${token}`, `http://127.0.0.1:${served.port}`);
  ws.on('message', (d: Buffer) => {
    const msg = JSON.parse(d.toString()) as { event?: JobEvent };
    if (msg.event) events.push(msg.event);
  });
});
after(async () => {
  ws?.close();
  await served?.stop();
  if (home) cleanup(home);
});

async function state(id: number): Promise<ProjectState> {
  const r = await rpc(ws, id, 'project.state', {});
  assert.equal(r.ok, true, r.error?.message);
  return r.result as ProjectState;
}

async function eventually(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a CLI recording into the open project: the server lists the new entries without a reopen, and says so', async () => {
  const before = await state(1);
  assert.equal(before.models.length, 2);
  assert.equal(before.evaluations.length, 0);
  const text = writeText(home, 'data.txt', 'tinyshakespeare.txt', 4_000);
  const r = await scionChild(['eval', SOURCE, '--data', text, '--ctx', '16', '--max-windows', '2', '--project', proj()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /recorded in project .* as evaluation /);
  // pushed: the UI refreshes on this event
  await eventually('a project-changed event', () => events.some((e) => e.type === 'project-changed' && e.dir === proj()));
  // and the API lists it (the same source entry, one new dataset, one evaluation)
  const after = await state(2);
  assert.equal(after.models.length, 2, 'the source was not added twice');
  assert.equal(after.datasets.length, 1);
  assert.equal(after.evaluations.length, 1);
  assert.equal(after.evaluations[0]!.modelId, after.models.find((m) => m.path === SOURCE)!.id);
  assert.deepEqual(after.problems, []);
});

test('what the server writes and what a CLI writes at the same time are both kept', async () => {
  const text = writeText(home, 'more.txt', 'wikitext2-valid.txt', 4_000);
  const [added, cli] = await Promise.all([
    rpc(ws, 3, 'dataset.add', { path: text, name: 'wiki', copy: false }),
    scionChild(quickGrowArgs(SOURCE, join(home, 'grown-2'), proj(), ['--method', 'mlp-zero', '--ffn-mult', '2'])),
  ]);
  assert.equal(added.ok, true, added.error?.message);
  assert.equal(cli.code, 0, cli.stderr);
  const s = await state(4);
  assert.deepEqual(s.models.map((m) => m.kind).sort(), ['grown', 'grown', 'source']);
  assert.equal(s.datasets.length, 2);
  assert.equal(served.proc.exitCode, null);
});

test('two tabs and a CLI writing into the project at once: every entry kept, both tabs list them and hear of the CLI', async () => {
  const token = new URL(served.url).searchParams.get('token')!;
  const tab2 = await connectWs(served.port, `?token=${token}`, `http://127.0.0.1:${served.port}`);
  const tab2Events: JobEvent[] = [];
  tab2.on('message', (d: Buffer) => {
    const msg = JSON.parse(d.toString()) as { event?: JobEvent };
    if (msg.event) tab2Events.push(msg.event);
  });
  try {
    // a new tab starts on the project opened last: the one the server holds
    const opened = await rpc(tab2, 1, 'project.state', {});
    assert.equal((opened.result as ProjectState).project.dir, proj());
    const known = (opened.result as ProjectState).evaluations.length;
    const seen = events.length;
    const text = writeText(home, 'both.txt', 'tinyshakespeare.txt', 4_000);
    const [a, b, cli] = await Promise.all([
      rpc(ws, 5, 'dataset.add', { path: writeText(home, 'tab1.txt', 'wikitext2-valid.txt', 3_000), name: 'tab1', copy: true }),
      rpc(tab2, 2, 'dataset.add', { path: writeText(home, 'tab2.txt', 'wikitext2-valid.txt', 3_000, 3_000), name: 'tab2', copy: true }),
      scionChild(['eval', SOURCE, '--data', text, '--ctx', '16', '--max-windows', '2', '--project', proj()]),
    ]);
    assert.equal(a.ok, true, a.error?.message);
    assert.equal(b.ok, true, b.error?.message);
    assert.equal(cli.code, 0, cli.stderr);
    await eventually('project-changed in both tabs', () =>
      [events.slice(seen), tab2Events].every((list) => list.some((e) => e.type === 'project-changed' && e.dir === proj())),
    );
    for (const [tab, id] of [
      [ws, 6],
      [tab2, 3],
    ] as const) {
      const r = await rpc(tab, id, 'project.state', {});
      assert.equal(r.ok, true, r.error?.message);
      const s = r.result as ProjectState;
      assert.deepEqual(s.problems, []);
      assert.ok(
        ['tab1', 'tab2', 'both.txt'].every((n) => s.datasets.some((d) => d.name === n)),
        `datasets: ${s.datasets.map((d) => d.name).join(', ')}`,
      );
      assert.equal(s.evaluations.length, known + 1, 'the CLI evaluation is listed once');
    }
  } finally {
    tab2.close();
  }
});
