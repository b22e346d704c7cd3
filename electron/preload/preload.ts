/**
 * The preload: exposes exactly the ScionBridge of the contract as `window.scion`, and
 * nothing else (never ipcRenderer itself). Bundled by esbuild into one CommonJS file, since
 * a sandboxed preload cannot load modules. Job events arrive as IPC events: no polling.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ApiMethod, ApiParams, ApiResult, JobEvent, ScionBridge } from '../shared/contract.ts';
import { CHANNELS, type IpcReply } from '../main/channels.ts';

const bridge: ScionBridge = {
  async call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
    const reply = (await ipcRenderer.invoke(CHANNELS.call, method, params)) as IpcReply;
    if (reply.ok) return reply.result as ApiResult<M>;
    // contextBridge keeps only an Error's message: the message is the readable part.
    throw new Error(reply.error.message);
  },
  onEvent(listener: (e: JobEvent) => void): () => void {
    const handler = (_e: IpcRendererEvent, event: JobEvent): void => listener(event);
    ipcRenderer.on(CHANNELS.event, handler);
    return () => {
      ipcRenderer.removeListener(CHANNELS.event, handler);
    };
  },
  async pickPath(kind: 'folder' | 'file'): Promise<string | undefined> {
    return (await ipcRenderer.invoke(CHANNELS.pick, kind)) as string | undefined;
  },
};

contextBridge.exposeInMainWorld('scion', bridge);
