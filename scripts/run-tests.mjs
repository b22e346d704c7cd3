#!/usr/bin/env node
// Runs every test file under test/ (or the files and folders named on the command line) with
// Node's test runner and tsx. Usage: npm test [-- test/some.test.ts test/folder ...]
// SCION_TEST_SKIP=test/a,test/b leaves those folders out (CI runs test/webgpu as its own step).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const named = process.argv.slice(2);
const skip = (process.env.SCION_TEST_SKIP ?? '')
  .split(',')
  .filter(Boolean)
  .map((d) => join(d));
const files = (named.length > 0 ? named : ['test'])
  .flatMap((p) => (statSync(p).isDirectory() ? find(p) : [p]))
  .filter((f) => !skip.some((d) => f === d || f.startsWith(d + '/')));
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, SCION_BACKEND: process.env.SCION_BACKEND ?? 'wasm' } });
process.exit(r.status ?? 1);
