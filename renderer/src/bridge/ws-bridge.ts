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

/** The largest request `scion serve` answers (its MAX_REQUEST_BYTES); a larger one is refused here, before sending. */
export const MAX_REQUEST_BYTES = 1 << 20;

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

  ws.addEventListener('close', (e: CloseEvent) => {
    closed = true;
    const why = e.code === 1009 ? ' (a request was too large for it)' : '';
    for (const p of pending.values()) p.reject(new ApiError(`The connection to scion serve was closed${why}.`, 'E_CONNECT'));
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
      const text = JSON.stringify({ id, method, params });
      const bytes = new TextEncoder().encode(text).length;
      if (bytes > MAX_REQUEST_BYTES)
        throw new ApiError(
          `${method}: the request is ${(bytes / 2 ** 20).toFixed(1)} MiB, over the 1.0 MiB limit of scion serve (is a path or name field holding something else?)`,
          'E_TOO_LARGE',
        );
      return new Promise<ApiResult<M>>((resolve, reject) => {
        pending.set(id, { resolve: (v) => resolve(v as ApiResult<M>), reject });
        ws.send(text);
      });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
