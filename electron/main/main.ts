/**
 * The Electron main process: one instance, one window, the menu, the IPC border, and the
 * project service. Jobs (grow, train, evaluate) run in utilityProcess workers started by the
 * service, so nothing heavy runs here.
 */
import { app, dialog, utilityProcess, type BrowserWindow } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceHandle } from '../server/service-handle.ts';
import { registerAppScheme, serveAppFiles } from './app-files.ts';
import { APP_ORIGIN } from './channels.ts';
import { registerIpc } from './ipc.ts';
import { buildMenu } from './menu.ts';
import { startService } from './service-host.ts';
import { createMainWindow } from './window.ts';

/** dist/electron/main/main.js -> dist/ */
const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PRELOAD = join(DIST, 'electron', 'preload', 'preload.cjs');
const RENDERER = join(DIST, 'renderer');
const WORKER = join(DIST, 'electron', 'worker', 'worker.js');

let win: BrowserWindow | undefined;
let service: ServiceHandle | undefined;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  registerAppScheme();
  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('window-all-closed', () => app.quit());
  // Quitting waits for the service: a running training checkpoints before its worker stops.
  let closing = false;
  app.on('before-quit', (e) => {
    if (!service || closing) return;
    e.preventDefault();
    closing = true;
    void Promise.resolve(service.close()).finally(() => {
      service = undefined;
      app.quit();
    });
  });
  // Every web contents (windows, devtools, anything created later): no navigation away from the app, no new windows.
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (ev, url) => {
      if (!url.startsWith(`${APP_ORIGIN}/`)) ev.preventDefault();
    });
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });

  void app.whenReady().then(async () => {
    serveAppFiles(RENDERER);
    const projectArg = process.argv.find((a) => a.startsWith('--project='))?.slice('--project='.length);
    service = await startService({ utilityProcess, workerEntry: WORKER, userDataDir: app.getPath('userData'), projectDir: projectArg });
    const current = () => (win && !win.isDestroyed() ? win : undefined);
    registerIpc(service, current);
    await buildMenu({ service, window: current, fail: (m) => dialog.showErrorBox('Scion', m), dev: !app.isPackaged });
    win = createMainWindow(PRELOAD);
  });
}
