/**
 * The browser mode's server: the built renderer over HTTP and the typed contract over a
 * WebSocket, on 127.0.0.1 only. A random token (in the URL it prints) and an Origin check
 * guard the socket; a Host check stops DNS-rebinding pages from reaching it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiMethod, RpcEvent, RpcResponse } from '../shared/contract.ts';
import { ScionError, errorMessage } from '../engine/errors.ts';
import { toWireError, type ServiceHandle } from './service-handle.ts';
import { contentSecurityPolicy, serveStatic } from './static-files.ts';

/** The largest request answered (1 MiB: a request is ids, paths and settings, a few KiB at most). */
export const MAX_REQUEST_BYTES = 1 << 20;
/** The largest WebSocket message read at all; a larger one closes its socket (1009). */
export const MAX_FRAME_BYTES = 16 << 20;

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

function tooLarge(method: string, bytes: number): ScionError {
  return new ScionError(
    `${method}: the request is ${mib(bytes)}, over the ${mib(MAX_REQUEST_BYTES)} limit of scion serve (is a path or name field holding something else?)`,
    'E_TOO_LARGE',
  );
}

export interface ServerOptions {
  service: ServiceHandle;
  /** Folder holding the built renderer (index.html + assets). */
  rendererDir: string;
  /** 0 picks a free port. */
  port?: number;
  token?: string;
  /** Where the server reports failed connections (default: stderr). */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

/** Parses one client message: `{id, method, params}` or undefined when it is not one. */
export function parseRequest(data: string): { id: number; method: string; params: unknown } | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof msg !== 'object' || msg === null) return undefined;
  const { id, method, params } = msg as Record<string, unknown>;
  if (typeof id !== 'number' || !Number.isInteger(id) || typeof method !== 'string') return undefined;
  return { id, method, params: params ?? {} };
}

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const root = resolve(opts.rendererDir);
  const log = opts.log ?? ((line: string) => void process.stderr.write(`scion serve: ${line}\n`));
  let port = 0;
  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];
  const allowedOrigins = (): string[] => allowedHosts().map((h) => `http://${h}`);

  const http = createServer((req, res) => {
    if (!allowedHosts().includes(req.headers.host ?? '')) {
      res.writeHead(421, { 'Content-Type': 'text/plain' }).end('wrong host');
      return;
    }
    const csp = contentSecurityPolicy(`ws://${req.headers.host}`);
    serveStatic(root, csp, req, res);
  });

  // Requests are small JSON documents (ids, paths, names, settings). One over
  // MAX_REQUEST_BYTES is answered with an E_TOO_LARGE error; one over MAX_FRAME_BYTES is not
  // even read: the socket closes with 1009 (message too big), and the server keeps serving.
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  wss.on('error', (e) => log(`websocket server: ${e.message}`));
  /** Each connection (a browser tab) is its own client, with its own open project. */
  const clients = new Map<WebSocket, string>();
  let nextClient = 1;

  http.on('upgrade', (req: IncomingMessage, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const ok =
      url.pathname === '/rpc' &&
      allowedHosts().includes(req.headers.host ?? '') &&
      allowedOrigins().includes(req.headers.origin ?? '') &&
      sameToken(url.searchParams.get('token'), token);
    if (!ok) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client = `tab-${nextClient++}`;
      clients.set(ws, client);
      ws.on('close', () => {
        clients.delete(ws);
        void opts.service.disconnect(client);
      });
      // a socket's error (a frame over maxPayload, a bad frame, a reset) ends that socket only
      ws.on('error', (e) => log(`a browser connection failed: ${e.message}`));
      ws.on('message', (raw: Buffer) => void answer(ws, client, raw).catch((e: unknown) => log(`could not answer a request: ${errorMessage(e)}`)));
    });
  });

  async function answer(ws: WebSocket, client: string, raw: Buffer): Promise<void> {
    const req = parseRequest(raw.toString());
    if (!req) {
      ws.close(1003, 'not a request');
      return;
    }
    let reply: RpcResponse;
    try {
      if (raw.length > MAX_REQUEST_BYTES) throw tooLarge(req.method, raw.length);
      if (req.method === 'app.info') {
        const info = (await opts.service.call('app.info', req.params, client)) as Record<string, unknown>;
        reply = { id: req.id, ok: true, result: { ...info, mode: 'browser' } };
      } else {
        reply = { id: req.id, ok: true, result: await opts.service.call(req.method as ApiMethod, req.params, client) };
      }
    } catch (e) {
      reply = { id: req.id, ok: false, error: toWireError(e) };
    }
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
  }

  // a tab gets the job events of the project it has open
  const unsubscribe = opts.service.onEvent((event, projectDir) => {
    const msg = JSON.stringify({ event } satisfies RpcEvent);
    for (const [ws, client] of clients) {
      if (opts.service.projectOf(client) !== projectDir) continue;
      if (ws.readyState === ws.OPEN) ws.send(msg);
    }
  });

  await new Promise<void>((ok, fail) => {
    http.once('error', fail);
    http.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  port = (http.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      unsubscribe();
      for (const ws of clients.keys()) ws.terminate();
      wss.close();
      await new Promise<void>((ok) => http.close(() => ok()));
    },
  };
}
