import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobUrl } from './app-url.ts';
import { createAppProtocolHandler } from './protocol.ts';

describe('app:// protocol handler', () => {
  let dir: string;
  let handle: (r: Request) => Promise<Response>;
  const blobs = new Map([['scene-1', new TextEncoder().encode('ply\nformat binary_little_endian 1.0\n')]]);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'saga-app-protocol-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>SAGA Studio</title>');
    writeFileSync(join(dir, 'assets', 'index.js'), 'export {};');
    writeFileSync(join(tmpdir(), 'saga-secret.txt'), 'not for the page');
    handle = createAppProtocolHandler(dir, async (id) => blobs.get(id));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the renderer with isolation and CSP headers', async () => {
    const res = await handle(new Request('app://saga/'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('SAGA Studio');
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(res.headers.get('content-security-policy')).toContain("worker-src 'self' blob:");
    const js = await handle(new Request('app://saga/assets/index.js'));
    expect(js.headers.get('content-type')).toContain('text/javascript');
  });

  it('serves scene blobs, and 404s unknown ones with a sentence', async () => {
    const res = await handle(new Request(blobUrl('scene-1')));
    expect(res.status).toBe(200);
    expect(new TextDecoder().decode(await res.arrayBuffer())).toMatch(/^ply\n/);
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const missing = await handle(new Request(blobUrl('scene-2')));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('open the scene again');
  });

  it('never serves files outside the renderer folder, and only reads', async () => {
    for (const url of ['app://saga/../saga-secret.txt', 'app://saga/%2e%2e/saga-secret.txt', 'app://saga/..%2fsaga-secret.txt']) {
      const res = await handle(new Request(url));
      expect([403, 404]).toContain(res.status);
      expect(await res.text()).not.toContain('not for the page');
    }
    expect((await handle(new Request('app://saga/missing.js'))).status).toBe(404);
    expect((await handle(new Request('app://saga/index.html', { method: 'POST', body: 'x' }))).status).toBe(405);
  });
});
