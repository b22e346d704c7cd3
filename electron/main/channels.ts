/** The IPC channel names main and preload share (and nothing else crosses). */
export const CHANNELS = {
  /** invoke(method, params) -> RpcResponse-like `{ok, result | error}`. */
  call: 'scion:call',
  /** main -> renderer: one JobEvent. */
  event: 'scion:event',
  /** invoke(kind) -> picked path or undefined. */
  pick: 'scion:pick-path',
} as const;

/** The custom scheme the app's own files are served from. */
export const APP_SCHEME = 'scion-app';
export const APP_ORIGIN = `${APP_SCHEME}://bundle`;

/** What the call channel answers: the RpcResponse of the contract, without the id invoke() does not need. */
export type IpcReply = { ok: true; result: unknown } | { ok: false; error: { message: string; code: string } };
