/** The application menu: new/open/recent projects, the usual edit and view roles. */
import { app, Menu, type BrowserWindow, type MenuItemConstructorOptions } from 'electron';
import type { ServiceHandle } from '../server/service-handle.ts';
import { pickPath } from './dialogs.ts';

export interface MenuDeps {
  service: ServiceHandle;
  window: () => BrowserWindow | undefined;
  /** Shows an error to the user (a native message box). */
  fail: (message: string) => void;
  dev: boolean;
}

/** Opens (or creates) the project in `dir`, then reloads the page onto it. */
async function openProject(deps: MenuDeps, dir: string, create: boolean): Promise<void> {
  try {
    if (create) await deps.service.call('project.create', { dir, name: dir.split(/[\\/]/).filter(Boolean).pop() ?? 'project' });
    else await deps.service.call('project.open', { dir });
    deps.window()?.webContents.reload();
    await buildMenu(deps);
  } catch (e) {
    deps.fail(e instanceof Error ? e.message : String(e));
  }
}

export async function buildMenu(deps: MenuDeps): Promise<void> {
  let recent: string[] = [];
  try {
    recent = (await deps.service.call('project.recent', {})) as string[];
  } catch {
    recent = [];
  }
  const template: MenuItemConstructorOptions[] = [
    ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        {
          label: 'New Project…',
          accelerator: 'CmdOrCtrl+N',
          click: async () => {
            const dir = await pickPath(deps.window(), 'folder');
            if (dir) await openProject(deps, dir, true);
          },
        },
        {
          label: 'Open Project…',
          accelerator: 'CmdOrCtrl+O',
          click: async () => {
            const dir = await pickPath(deps.window(), 'folder');
            if (dir) await openProject(deps, dir, false);
          },
        },
        {
          label: 'Open Recent',
          submenu: recent.length
            ? recent.map((dir) => ({ label: dir, click: () => void openProject(deps, dir, false) }))
            : [{ label: 'No recent projects', enabled: false }],
        },
        { type: 'separator' },
        process.platform === 'darwin' ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(deps.dev ? [{ role: 'toggleDevTools' as const }] : []),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    { role: 'help', submenu: [{ label: `Scion ${app.getVersion()}`, enabled: false }] },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
