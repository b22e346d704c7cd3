/** Native file dialogs: pick a model or project folder, or a dataset file. */
import { dialog, type BrowserWindow } from 'electron';

export async function pickPath(win: BrowserWindow | undefined, kind: 'folder' | 'file'): Promise<string | undefined> {
  const options: Electron.OpenDialogOptions =
    kind === 'folder'
      ? { title: 'Choose a folder', properties: ['openDirectory', 'createDirectory'] }
      : {
          title: 'Choose a dataset file',
          properties: ['openFile'],
          filters: [
            { name: 'Text or tokens', extensions: ['txt', 'bin', 'text', 'md'] },
            { name: 'All files', extensions: ['*'] },
          ],
        };
  const r = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
  return r.canceled ? undefined : r.filePaths[0];
}
