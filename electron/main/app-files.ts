/**
 * Serves the app's own files (the built renderer) on the privileged `scion-app://bundle/`
 * scheme, with a strict Content-Security-Policy. Nothing outside the renderer folder is
 * reachable, and every other request the page makes is refused.
 */
import { net, protocol, session } from 'electron';
import { normalize } from 'node:path';
import { pathToFileURL } from 'node:url';
import { appFileFor } from './app-url.ts';
import { APP_ORIGIN, APP_SCHEME } from './channels.ts';

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Must run before app 'ready'. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
}

export function serveAppFiles(rendererDir: string): void {
  const root = normalize(rendererDir);
  protocol.handle(APP_SCHEME, async (req) => {
    const file = appFileFor(root, req.url);
    if (!file) return new Response('not found', { status: 404 });
    const res = await net.fetch(pathToFileURL(file).toString());
    const headers = new Headers(res.headers);
    headers.set('Content-Security-Policy', CSP);
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(res.body, { status: res.status, headers });
  });
  // Only the app's own files, data: images, blob: downloads and devtools may load.
  session.defaultSession.webRequest.onBeforeRequest((details, callback) => {
    const ok = details.url.startsWith(`${APP_ORIGIN}/`) || /^(data|blob|devtools):/.test(details.url);
    callback({ cancel: !ok });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
}
