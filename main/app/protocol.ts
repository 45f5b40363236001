/**
 * The app:// request handler: renderer files from out/renderer and scene bytes from the backend,
 * every response with the isolation and CSP headers. Written on the standard Request/Response so
 * it runs (and is tested) outside Electron; index.ts hands it to protocol.handle.
 */
import { readFile } from 'node:fs/promises';
import { resolveAppRequest } from './app-url.ts';
import { contentTypeFor, rendererHeaders } from './security-headers.ts';

export type BlobLookup = (id: string) => Promise<Uint8Array | undefined>;

export function createAppProtocolHandler(rendererDir: string, blob: BlobLookup): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('Only GET and HEAD are served.', { status: 405, headers: { Allow: 'GET, HEAD' } });
    }
    const target = resolveAppRequest(request.url, rendererDir);
    if (target.kind === 'refused') return new Response(`Refused: ${target.reason}`, { status: 403 });
    if (target.kind === 'blob') {
      const bytes = await blob(target.id);
      if (!bytes) return new Response('That scene data is no longer available: open the scene again.', { status: 404 });
      // Backend blobs are plain (never shared) buffers, which is what Response accepts.
      return new Response(bytes as Uint8Array<ArrayBuffer>, { headers: rendererHeaders('application/octet-stream') });
    }
    try {
      const body = await readFile(target.path);
      return new Response(new Uint8Array(body), { headers: rendererHeaders(contentTypeFor(target.path)) });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') return new Response('Not found', { status: 404 });
      throw e;
    }
  };
}
