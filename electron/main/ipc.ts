/**
 * The main process's side of the contract: one `invoke` channel for every ScionApi method,
 * one event channel for job events, one for native dialogs. Only the app's own page may
 * call; the method name must be one of the contract's; the service's zod schemas check
 * every payload before anything touches the disk.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { toWireError, type ServiceHandle } from '../server/service-handle.ts';
import { isApiMethod } from './api-methods.ts';
import { APP_ORIGIN, CHANNELS, type IpcReply } from './channels.ts';
import { pickPath } from './dialogs.ts';

function fromApp(e: IpcMainInvokeEvent): boolean {
  const url = e.senderFrame?.url ?? '';
  return url.startsWith(`${APP_ORIGIN}/`);
}

/** Each window is its own client of the service, with its own open project. */
const clientOf = (webContentsId: number): string => `window-${webContentsId}`;

export function registerIpc(service: ServiceHandle, window: () => BrowserWindow | undefined): () => void {
  ipcMain.handle(CHANNELS.call, async (e, method: unknown, params: unknown): Promise<IpcReply> => {
    if (!fromApp(e)) return { ok: false, error: { message: 'refused: not the app page', code: 'E_FORBIDDEN' } };
    if (!isApiMethod(method)) return { ok: false, error: { message: `unknown method '${String(method)}'`, code: 'E_USAGE' } };
    try {
      const result = await service.call(method, params ?? {}, clientOf(e.sender.id));
      return method === 'app.info' ? { ok: true, result: { ...(result as object), mode: 'electron' } } : { ok: true, result };
    } catch (err) {
      return { ok: false, error: toWireError(err) };
    }
  });
  ipcMain.handle(CHANNELS.pick, async (e, kind: unknown) => {
    if (!fromApp(e) || (kind !== 'folder' && kind !== 'file')) return undefined;
    return pickPath(window(), kind);
  });
  // the window gets the job events of the project it has open
  const unsubscribe = service.onEvent((event, projectDir) => {
    const win = window();
    if (!win || win.isDestroyed()) return;
    if (service.projectOf(clientOf(win.webContents.id)) !== projectDir) return;
    win.webContents.send(CHANNELS.event, event);
  });
  return () => {
    unsubscribe();
    ipcMain.removeHandler(CHANNELS.call);
    ipcMain.removeHandler(CHANNELS.pick);
  };
}
