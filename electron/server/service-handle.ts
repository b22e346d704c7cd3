/**
 * What a transport (the WebSocket server, Electron's IPC) needs from the service: the
 * project service from electron/service/service.ts satisfies it. Kept structural so the
 * transports do not depend on how the service is built.
 */
import type { ApiMethod, JobEvent } from '../shared/contract.ts';

export interface ServiceHandle {
  /** Validates `params` against the method's schema, runs it on `client`'s open project, resolves with the result. */
  call(method: ApiMethod, params: unknown, client?: string): Promise<unknown>;
  /** Subscribes to job events (each with its project's folder); returns the unsubscribe function. */
  onEvent(listener: (e: JobEvent, projectDir: string) => void): () => void;
  /** The project a client (a browser tab, a window) has open: it gets only that project's job events. */
  projectOf(client: string): string | undefined;
  /** The client is gone (its project may close). */
  disconnect(client: string): Promise<void> | void;
  close(): Promise<void> | void;
}

/** A thrown value as the `{message, code}` pair a transport sends back. */
export function toWireError(e: unknown): { message: string; code: string } {
  if (e instanceof Error) {
    const code = (e as Error & { code?: unknown }).code;
    return { message: e.message, code: typeof code === 'string' ? code : 'E_INTERNAL' };
  }
  return { message: String(e), code: 'E_INTERNAL' };
}
