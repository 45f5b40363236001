/**
 * Response headers for the renderer and the scene bytes it fetches, shared by the Electron
 * protocol handler (main/app) and the browser-mode server (main/host/server), so both hosts serve
 * the page under the same rules. Cross-origin isolation (COOP + COEP) gives the splat viewer
 * SharedArrayBuffer; without it its loader never finishes. The CSP allows exactly what the viewer
 * needs: blob: workers and WebAssembly compilation. No Node or Electron imports here.
 */

export interface CspOptions {
  /** Extra connect-src sources, e.g. the browser-mode WebSocket. */
  connectSrc?: readonly string[];
}

export function contentSecurityPolicy(options: CspOptions = {}): string {
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    // Svelte and the viewer set inline style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    ["connect-src 'self' blob: data:", ...(options.connectSrc ?? [])].join(' '),
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The policy of the Electron window (app:// scheme; the API rides a MessagePort, not the network). */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/** The policy of the browser-mode page: the API is a WebSocket to the local server. */
export const BROWSER_CONTENT_SECURITY_POLICY = contentSecurityPolicy({ connectSrc: ['ws://127.0.0.1:*'] });

/** Isolation and sniffing headers every response of either host carries (CSP set per host). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};

/** Headers of an Electron app:// response. */
export function rendererHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    ...ISOLATION_HEADERS,
    'Cache-Control': 'no-cache',
  };
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.ply': 'application/octet-stream',
  '.splat': 'application/octet-stream',
};

export function contentTypeFor(path: string): string {
  const dot = path.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[path.slice(dot).toLowerCase()]) || 'application/octet-stream';
}
