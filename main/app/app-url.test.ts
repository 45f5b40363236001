import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { blobUrl, resolveAppRequest } from './app-url.ts';
import { CONTENT_SECURITY_POLICY, contentTypeFor, rendererHeaders } from './security-headers.ts';

const root = resolve('/srv/out/renderer');

describe('app:// request mapping', () => {
  it('serves index.html for the root and files inside the renderer folder', () => {
    expect(resolveAppRequest('app://saga/', root)).toEqual({ kind: 'file', path: resolve(root, 'index.html') });
    expect(resolveAppRequest('app://saga/assets/index-abc.js', root)).toEqual({ kind: 'file', path: resolve(root, 'assets/index-abc.js') });
  });

  it('recognises blob URLs, and builds them the same way', () => {
    expect(resolveAppRequest(blobUrl('scene-7'), root)).toEqual({ kind: 'blob', id: 'scene-7' });
  });

  it('refuses traversal out of the renderer folder, encoded or not', () => {
    for (const url of ['app://saga/../../etc/passwd', 'app://saga/%2e%2e/%2e%2e/etc/passwd', 'app://saga/assets/..%2F..%2F..%2Fetc%2Fpasswd']) {
      const r = resolveAppRequest(url, root);
      if (r.kind === 'file') expect(r.path.startsWith(root)).toBe(true);
      else expect(r.kind).toBe('refused');
    }
    expect(resolveAppRequest('app://saga/%E0%A4%A', root).kind).toBe('refused');
  });

  it('refuses other hosts of the scheme', () => {
    expect(resolveAppRequest('app://evil/index.html', root)).toMatchObject({ kind: 'refused' });
  });
});

describe('renderer headers', () => {
  it('isolate the page (COOP/COEP) and allow the viewer its blob workers and wasm', () => {
    const h = rendererHeaders(contentTypeFor('index.html'));
    expect(h['Cross-Origin-Opener-Policy']).toBe('same-origin');
    expect(h['Cross-Origin-Embedder-Policy']).toBe('require-corp');
    expect(h['Content-Type']).toContain('text/html');
    expect(CONTENT_SECURITY_POLICY).toContain("worker-src 'self' blob:");
    expect(CONTENT_SECURITY_POLICY).toContain("'wasm-unsafe-eval'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("'unsafe-eval'");
    expect(contentTypeFor('x.wasm')).toBe('application/wasm');
    expect(contentTypeFor('scene.bin')).toBe('application/octet-stream');
  });
});
