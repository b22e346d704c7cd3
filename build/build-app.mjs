#!/usr/bin/env node
// Builds the desktop app into dist/: the main process (ESM), the preload (ONE CommonJS file,
// so it runs sandboxed), the job worker (ESM, run by utilityProcess) and its compute threads, and the renderer (vite).
// Dependencies stay external: they ship in node_modules inside the asar (native tfjs unpacked).
// Usage: node build/build-app.mjs [--no-renderer]
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning', legalComments: 'none' };

await build({
  ...common,
  entryPoints: {
    'electron/main/main': 'electron/main/main.ts',
    'electron/worker/worker': 'electron/jobs/worker.ts',
    // the job worker's compute threads (engine/train/parallel/pool.ts looks for it beside the worker)
    'electron/worker/train-thread': 'electron/engine/train/parallel/thread.ts',
  },
  outdir: 'dist',
  format: 'esm',
  packages: 'external',
  external: ['electron'],
});
await build({
  ...common,
  entryPoints: ['electron/preload/preload.ts'],
  outfile: 'dist/electron/preload/preload.cjs',
  format: 'cjs',
  external: ['electron'],
});

if (!process.argv.includes('--no-renderer')) {
  const vite = await import('vite');
  await vite.build({ configFile: `${root}renderer/vite.config.ts`, logLevel: 'warn' });
}
console.log('built dist/electron (main, preload, worker) and dist/renderer');
