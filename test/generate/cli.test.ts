/**
 * `scion generate` as a user runs it (the real CLI in a child process): text streamed to
 * stdout in several writes before the command ends, `--json` as one object whose text
 * matches the streamed one for the same seed, and usage errors with exit code 2.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { fixtureDir, ROOT } from '../helpers/fixtures.ts';

const SCION = path.join(ROOT, 'bin', 'scion.js');
const MODEL = fixtureDir('gpt2-shakespeare-d64-l2');
const env = { ...process.env, SCION_BACKEND: 'wasm' };

test('scion generate streams the text, and --json gives the same text for the same seed', async () => {
  const args = ['generate', MODEL, '--prompt', 'ROMEO:', '--tokens', '40', '--temperature', '0.9', '--top-k', '20', '--seed', '5'];
  const child = spawn(process.execPath, [SCION, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout.on('data', (d: Buffer) => chunks.push(d.toString()));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('close', r));
  assert.equal(code, 0, err);
  assert.ok(chunks.length > 3, `stdout arrived in ${chunks.length} pieces: streamed, not written at the end`);
  const streamed = chunks.join('');
  assert.ok(streamed.startsWith('ROMEO:'));
  assert.match(err, /40 tokens in .* tokens\/s/);

  const json = spawnSync(process.execPath, [SCION, ...args, '--json'], { env, encoding: 'utf8' });
  assert.equal(json.status, 0, json.stderr);
  const lines = json.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one JSON object on stdout');
  const r = JSON.parse(lines[0]!) as { text: string; tokens: number; token_ids: number[]; backend: string; seed: number };
  assert.equal(r.tokens, 40);
  assert.equal(r.token_ids.length, 40);
  assert.equal(r.backend, 'wasm');
  assert.equal(streamed, `ROMEO:${r.text}\n`);
});

test('scion generate: a missing prompt or model is a usage error, a folder that is not a model is named', () => {
  const noPrompt = spawnSync(process.execPath, [SCION, 'generate', MODEL], { env, encoding: 'utf8' });
  assert.equal(noPrompt.status, 2);
  assert.match(noPrompt.stderr, /--prompt is required/);
  const notModel = spawnSync(process.execPath, [SCION, 'generate', ROOT + '/docs', '--prompt', 'x'], { env, encoding: 'utf8' });
  assert.equal(notModel.status, 1);
  assert.match(notModel.stderr, /docs: not a model folder: config\.json is missing/);
  const badTemp = spawnSync(process.execPath, [SCION, 'generate', MODEL, '--prompt', 'x', '--temperature', 'hot'], { env, encoding: 'utf8' });
  assert.equal(badTemp.status, 2);
  assert.match(badTemp.stderr, /--temperature must be a number/);
});
