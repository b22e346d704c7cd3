/**
 * The one ScionBridge the app uses: the preload's `window.scion` inside Electron, or the
 * WebSocket client in a browser opened on the URL `scion serve` printed (token in the query).
 */
import type { AppBridge } from './app-bridge.ts';
import { createWsBridge, type WsBridge } from './ws-bridge.ts';

export function connectBridge(): AppBridge {
  const native = window.scion;
  if (native) return Object.assign(Object.create(null) as object, native, { mode: 'electron' as const, ready: Promise.resolve(), onClose: () => {} });
  const params = new URLSearchParams(location.search);
  const token = params.get('token') ?? '';
  const ws: WsBridge = createWsBridge(`ws://${location.host}/rpc?token=${encodeURIComponent(token)}`);
  return Object.assign(ws, { mode: 'browser' as const });
}
