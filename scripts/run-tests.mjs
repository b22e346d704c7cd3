#!/usr/bin/env node
// Runs every test file under test/ (or those named on the command line) with Node's test
// runner and tsx. Usage: npm test [-- test/some.test.ts ...]
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

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : find('test');
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit', env: { ...process.env, SCION_BACKEND: process.env.SCION_BACKEND ?? 'wasm' } });
process.exit(r.status ?? 1);
