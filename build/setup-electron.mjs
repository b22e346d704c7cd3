#!/usr/bin/env node
// `npm run setup:electron` (and `npm start`): downloads Electron's binary once, through
// Electron's own installer. Where it cannot (offline, a proxy, a firewall), it says what
// failed and what to do instead of printing the downloader's stack trace.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let install;
try {
  install = require.resolve('electron/install.js');
} catch {
  console.error('scion: the electron package is not installed (run npm ci first).');
  process.exit(1);
}
const r = spawnSync(process.execPath, [install], { encoding: 'utf8', stdio: ['ignore', 'inherit', 'pipe'] });
if (r.status === 0) process.exit(0);
const why = (r.stderr || r.error?.message || `exit code ${r.status}`).trim().split('\n')[0];
console.error(
  [
    `scion: could not download Electron's binary (${why}).`,
    "The desktop app needs it once; the download goes to Electron's GitHub releases (or ELECTRON_MIRROR).",
    'What you can do:',
    '  - open the same app in a browser now, no download needed:  npx scion serve',
    '  - use an Electron you have:  ELECTRON_OVERRIDE_DIST_PATH=/path/to/electron/dist npm start',
    '  - download through a mirror:  ELECTRON_MIRROR=https://your.mirror/electron/ npm start  (a proxy: HTTPS_PROXY=...)',
  ].join('\n'),
);
process.exit(1);
