/**
 * What an app:// request asks for. The renderer is served from app://saga/ (a standard, secure
 * scheme, so it gets a real origin and fetch/workers behave as on https). Pure: no Electron, no fs.
 */
import { isAbsolute, normalize, relative, resolve, sep } from 'node:path';

export const APP_ORIGIN = 'app://saga';

export type AppRequest =
  | { kind: 'file'; path: string }
  | { kind: 'blob'; id: string }
  | { kind: 'refused'; reason: string };

/** The URL of a scene blob as the renderer sees it in Electron. */
export function blobUrl(id: string): string {
  return `${APP_ORIGIN}/blob/${encodeURIComponent(id)}`;
}

/**
 * Maps an app:// URL to a renderer file (inside `rendererDir`, never outside) or a blob id.
 * "/" is index.html.
 */
export function resolveAppRequest(url: string, rendererDir: string): AppRequest {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { kind: 'refused', reason: 'malformed URL' };
  }
  if (`${parsed.protocol}//${parsed.host}` !== APP_ORIGIN) return { kind: 'refused', reason: `foreign origin ${parsed.protocol}//${parsed.host}` };
  let pathname: string;
  try {
    pathname = decodeURIComponent(parsed.pathname);
  } catch {
    return { kind: 'refused', reason: 'malformed escape in path' };
  }
  const blob = /^\/blob\/([A-Za-z0-9._-]+)$/.exec(pathname);
  if (blob) return { kind: 'blob', id: blob[1]! };
  if (pathname.includes('\0')) return { kind: 'refused', reason: 'NUL in path' };
  const rel = pathname === '/' || pathname === '' ? 'index.html' : normalize(pathname.replace(/^\/+/, ''));
  const root = resolve(rendererDir);
  const full = resolve(root, rel);
  const inside = relative(root, full);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) {
    return { kind: 'refused', reason: 'path escapes the renderer folder' };
  }
  return { kind: 'file', path: full };
}
