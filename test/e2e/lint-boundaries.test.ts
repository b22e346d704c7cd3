/**
 * The lint rules that keep the processes apart actually fire: Node, electron and engine
 * imports in the renderer; Electron and DOM globals in the engine; value imports of the
 * contract in the renderer. And the real app sources are clean under them.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { REPO } from './harness.ts';

const eslint = new ESLint({ cwd: REPO });

async function ruleIds(file: string, text: string): Promise<string[]> {
  const [r] = await eslint.lintText(text, { filePath: join(REPO, file) });
  return (r?.messages ?? []).map((m) => `${m.ruleId}@${m.line}`);
}

test('the renderer may not import Node, electron, the engine, or contract values', async () => {
  const ids = await ruleIds(
    'renderer/src/probe.ts',
    [
      "import { readFileSync } from 'node:fs';",
      "import { ipcRenderer } from 'electron';",
      "import { initBackend } from '../../electron/engine/backend.ts';",
      "import { createService } from '../../electron/service/service.ts';",
      "import type { Id } from '../../electron/shared/contract.ts';",
      'export const x: Id = String(readFileSync) + String(ipcRenderer) + String(initBackend) + String(createService);',
    ].join('\n'),
  );
  assert.deepEqual(ids, ['no-restricted-imports@1', 'no-restricted-imports@2', 'no-restricted-imports@3', 'no-restricted-imports@4']);
});

test('a .vue component is held to the same renderer rules', async () => {
  const ids = await ruleIds(
    'renderer/src/ProbeView.vue',
    '<script setup lang="ts">\nimport { join } from "path";\nconsole.log(join);\n</script>\n<template><div></div></template>\n',
  );
  assert.deepEqual(ids, ['no-restricted-imports@2']);
});

test('the engine, CLI, store, jobs and service may not import electron or touch the DOM', async () => {
  for (const dir of ['electron/engine', 'electron/cli', 'electron/store', 'electron/jobs', 'electron/service', 'electron/server']) {
    const ids = await ruleIds(
      `${dir}/probe.ts`,
      "import { app } from 'electron';\nexport const t = String(app) + document.title + String(window.devicePixelRatio);\n",
    );
    assert.deepEqual(ids, ['no-restricted-imports@1', 'no-restricted-globals@2', 'no-restricted-globals@2'], dir);
  }
});

test('the engine imports nothing above it (lint)', async () => {
  const ids = await ruleIds(
    'electron/engine/growth/probe.ts',
    [
      "import type { MethodInfo } from '../../shared/contract.ts';",
      "import { idSchema } from '../../store/schemas.ts';",
      "import { createService } from '../../service/service.ts';",
      "import type { Command } from '../../cli/command.ts';",
      "import { plan } from '../plan.ts';",
      'export const x: MethodInfo | undefined = undefined;',
      'export const y = String(idSchema) + String(createService) + String(plan) + String({} as Command);',
    ].join('\n'),
  );
  assert.deepEqual(ids, ['no-restricted-imports@1', 'no-restricted-imports@2', 'no-restricted-imports@3', 'no-restricted-imports@4']);
});

/** Every relative import of every engine source file, resolved: none may leave electron/engine. */
test('no engine source file imports a file outside electron/engine', () => {
  const engine = join(REPO, 'electron', 'engine');
  const files = (readdirSync(engine, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(engine, f));
  assert.ok(files.length > 50, `found only ${files.length} engine files`);
  const outside: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      const spec = m[1]!;
      if (spec === 'electron') outside.push(`${relative(REPO, f)} imports electron`);
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(f), spec);
      if (relative(engine, target).startsWith('..')) outside.push(`${relative(REPO, f)} imports ${relative(REPO, target)}`);
    }
  }
  assert.deepEqual(outside, []);
});

test('the preload may not use Node modules', async () => {
  const ids = await ruleIds('electron/preload/probe.ts', "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\n");
  assert.deepEqual(ids, ['no-restricted-imports@1']);
});

test('the app sources pass lint', async () => {
  const results = await eslint.lintFiles(['renderer/src', 'electron/main', 'electron/preload', 'electron/server', 'test/e2e']);
  const problems = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.ruleId}: ${m.message}`));
  assert.deepEqual(problems, []);
});
