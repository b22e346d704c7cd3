/** A test client for `scion serve`'s WebSocket: connect with a query and an Origin, and call one method. */
import { WebSocket } from 'ws';

export interface RpcReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { message: string; code: string };
}

/** Opens ws://127.0.0.1:port/rpc<query>; rejects with 'HTTP <status>' when the server refuses. */
export function connectWs(port: number, query: string, origin: string | undefined): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc${query}`, origin ? { origin } : {});
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** Sends `{id, method, params}` (or `raw` text as is) and resolves with the reply of that id. */
export function rpc(ws: WebSocket, id: number, method: string, params: unknown, raw?: string): Promise<RpcReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer): void => {
      const msg = JSON.parse(data.toString()) as { id?: number };
      if (msg.id === id) {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        resolve(msg as RpcReply);
      }
    };
    const onClose = (code: number): void => reject(new Error(`the socket closed (${code}) before answering request ${id}`));
    ws.on('message', onMessage);
    ws.once('close', onClose);
    ws.send(raw ?? JSON.stringify({ id, method, params }));
  });
}
