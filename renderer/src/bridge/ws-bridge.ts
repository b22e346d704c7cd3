/**
 * The browser's ScionBridge: the contract over the WebSocket of `scion serve`. Requests are
 * `{id, method, params}`, answers `{id, ok, result | error}`, job events `{event}`.
 */
import type { ApiMethod, ApiParams, ApiResult, JobEvent, RpcResponse, ScionBridge } from '../../../electron/shared/contract.ts';
import { ApiError } from './api-error.ts';

export interface WsBridge extends ScionBridge {
  /** Resolves when connected; rejects when the server refused the connection. */
  ready: Promise<void>;
  onClose(listener: () => void): void;
}

export function createWsBridge(url: string): WsBridge {
  const ws = new WebSocket(url);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Set<(e: JobEvent) => void>();
  const closeListeners: Array<() => void> = [];
  let nextId = 1;
  let closed = false;

  const ready = new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve(), { once: true });
    ws.addEventListener('error', () => reject(new ApiError('Could not connect to scion serve (wrong or missing token in the URL?)', 'E_CONNECT')), {
      once: true,
    });
  });

  ws.addEventListener('message', (m: MessageEvent<string>) => {
    const msg = JSON.parse(m.data) as RpcResponse | { event: JobEvent };
    if ('event' in msg) {
      for (const l of listeners) l(msg.event);
      return;
    }
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new ApiError(msg.error.message, msg.error.code));
  });

  ws.addEventListener('close', () => {
    closed = true;
    for (const p of pending.values()) p.reject(new ApiError('The connection to scion serve was closed.', 'E_CONNECT'));
    pending.clear();
    for (const l of closeListeners) l();
  });

  return {
    ready,
    onClose(listener) {
      closeListeners.push(listener);
    },
    async call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
      await ready;
      if (closed) throw new ApiError('The connection to scion serve was closed.', 'E_CONNECT');
      const id = nextId++;
      return new Promise<ApiResult<M>>((resolve, reject) => {
        pending.set(id, { resolve: (v) => resolve(v as ApiResult<M>), reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
