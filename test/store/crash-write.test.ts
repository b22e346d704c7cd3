/**
 * Kill the writer mid-write: a child process writes to a project in a loop (copying model
 * folders, adding datasets, rewriting entries) and is SIGKILLed at a different moment each
 * round. The project must still open with no problems, every entry whole, and no
 * half-written file visible.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Project } from '../../electron/store/project.ts';
import { inspectModelFolder } from '../../electron/store/models.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { listFiles, tempDir } from '../helpers/tmp.ts';
import { writeText } from '../service/util.ts';

const LOOP = path.join(import.meta.dirname, 'write-loop.ts');

/** Runs the writer until it has printed `lines` lines plus `extraMs`, then SIGKILLs it. */
function killMidWrite(dir: string, modelDir: string, text: string, lines: number, extraMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', LOOP, dir, modelDir, text], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = 0;
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString().split('\n').filter(Boolean).length;
      if (seen >= lines) setTimeout(() => child.kill('SIGKILL'), extraMs);
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(seen) : reject(new Error(`writer exited by itself (${code}): ${err}`))));
  });
}

test('a writer killed mid-write leaves a project that opens whole', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const project = await Project.create(path.join(dir, 'proj'), 'Crash');
  const modelDir = fixtureDir('gpt2-shakespeare-d64-l2');
  const text = writeText(dir, 'data.txt', 'tinyshakespeare.txt', 200_000);
  const weights = statSync(path.join(modelDir, 'model.safetensors')).size;
  let leftovers = 0;
  for (const [lines, extraMs] of [
    [1, 0],
    [3, 2],
    [8, 5],
    [12, 1],
  ] as const) {
    await killMidWrite(project.dir, modelDir, text, lines, extraMs);
    const visible = listFiles(project.dir);
    leftovers += visible.filter((f) => /\.tmp-/.test(f)).length;
    const p = await Project.open(project.dir);
    assert.deepEqual(p.problems, [], `after killing at ${lines} lines + ${extraMs} ms: ${JSON.stringify(p.problems)}`);
    for (const m of p.models.values()) {
      await inspectModelFolder(m.path); // config parses, every tensor's name and shape present
      assert.equal(statSync(path.join(m.path, 'model.safetensors')).size, weights);
      assert.match(m.name, /^copy \d+( rewrite \d)?$/);
    }
    for (const d of p.datasets.values()) assert.equal(readFileSync(d.path, 'utf8').length, 200_000);
    // what the next opener sees: no temporary or half-written files outside dot-named leftovers,
    // and those are cleaned away on open
    for (const f of visible) assert.ok(!/\.tmp-/.test(f) || f.split('/').some((part) => part.startsWith('.')), f);
    for (const c of ['models', 'datasets']) {
      if (!existsSync(path.join(project.dir, c))) continue;
      for (const name of readdirSync(path.join(project.dir, c))) assert.ok(!name.startsWith('.'), `leftover ${c}/${name} was not cleaned`);
    }
  }
  t.diagnostic(`temporary files caught mid-write and cleaned on open: ${leftovers}`);
  const final = await Project.open(project.dir);
  assert.ok(final.models.size >= 2, `the writer got some work done (${final.models.size} models)`);
});
