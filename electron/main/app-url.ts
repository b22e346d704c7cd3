/** Maps an app URL (`scion-app://bundle/...`) to a file of the built renderer, never outside it. */
import { join, normalize, sep } from 'node:path';

/** The file a `scion-app://bundle/...` URL names, or undefined when it leaves `root`. */
export function appFileFor(root: string, url: string): string | undefined {
  let rel: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'scion-app:' || u.host !== 'bundle') return undefined;
    rel = decodeURIComponent(u.pathname === '/' ? '/index.html' : u.pathname);
  } catch {
    return undefined;
  }
  if (rel.includes('\0')) return undefined;
  const file = normalize(join(root, rel));
  return file.startsWith(root + sep) ? file : undefined;
}
