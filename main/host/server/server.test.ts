import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SCENES, sharedScene } from '../../../e2e/fixtures.ts';
import type { ApiMethods } from '../../contract/api.ts';
import { RpcClient } from '../../contract/rpc.ts';
import { connectWebSocket, type WebSocketConstructor } from '../../contract/transports/websocket.ts';
import { uploadFile } from '../../contract/upload.ts';
import { CONTENT_SECURITY_POLICY, startServer, tokenCookieName, type RunningServer } from './server.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-serve-'));
const rendererDir = join(root, 'renderer');
let server: RunningServer;

beforeAll(async () => {
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>SAGA Studio</title><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log("app");');
  writeFileSync(join(root, 'secret.txt'), 'outside the renderer');
  server = await startServer({ rendererDir, open: sharedScene(SCENES.guitar), userDataDir: join(root, 'user-data') });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const Ws = WebSocket as unknown as WebSocketConstructor;

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.origin}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: new Uint8Array(await res.arrayBuffer()) };
}

/** A raw request, for headers fetch() will not let us set (Host). */
function rawGet(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers }, (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('browser-mode server', () => {
  it('serves the page with the token, cross-origin isolated, with the CSP and a token cookie', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>SAGA Studio</title>');
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const cookie = page.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);

    // The page's own asset requests carry the cookie, not the query.
    const asset = await get('/assets/app.js', { cookie: cookie.split(';')[0]! });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
  });

  it('refuses requests without the token (401) or with a wrong one (403)', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/assets/app.js')).status).toBe(401);
    expect((await get('/?token=wrong')).status).toBe(403);
    expect((await get('/assets/app.js', { cookie: `${tokenCookieName(server.port)}=wrong` })).status).toBe(403);
    const refused = await get('/');
    expect(new TextDecoder().decode(refused.body)).toContain('?token=');
  });

  it('refuses other Host names (DNS rebinding) and paths outside the renderer', async () => {
    expect(await rawGet(`/?token=${server.token}`, { host: `evil.example:${server.port}` })).toBe(403);
    expect(await rawGet(`/?token=${server.token}`, { host: 'attacker.test' })).toBe(403);
    // A forwarded port (ssh -L 9000:127.0.0.1:<port>) names another port on a loopback host: served.
    expect(await rawGet(`/?token=${server.token}`, { host: 'localhost:9000' })).toBe(200);
    expect(await rawGet(`/%2e%2e/secret.txt?token=${server.token}`, { host: `127.0.0.1:${server.port}` })).toBe(404);
    expect(await rawGet(`/../secret.txt?token=${server.token}`, { host: `127.0.0.1:${server.port}` })).toBe(404);
  });

  it('refuses a WebSocket without the token, with a wrong one, or from another origin', async () => {
    const base = `ws://127.0.0.1:${server.port}/rpc`;
    await expect(connectWebSocket(base, Ws)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(connectWebSocket(`${base}?token=nope`, Ws)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const status = await new Promise<number>((resolveStatus) => {
      const ws = new WebSocket(`${base}?token=${server.token}`, { origin: 'https://evil.example' });
      ws.on('unexpected-response', (_req, res) => resolveStatus(res.statusCode ?? 0));
      ws.on('open', () => resolveStatus(101));
    });
    expect(status).toBe(403);
    const unauthorized = await new Promise<number>((resolveStatus) => {
      const ws = new WebSocket(base);
      ws.on('unexpected-response', (_req, res) => resolveStatus(res.statusCode ?? 0));
      ws.on('open', () => resolveStatus(101));
    });
    expect(unauthorized).toBe(401);
  });

  it('speaks the API over the WebSocket: initialOpen, scene bytes over HTTP and as a binary frame', async () => {
    const transport = await connectWebSocket(`ws://127.0.0.1:${server.port}/rpc?token=${server.token}`, Ws);
    const client = new RpcClient<ApiMethods>(transport);
    const info = await client.call('app.info', {});
    expect(info).toMatchObject({ host: 'browser', initialOpen: { kind: 'scene', path: sharedScene(SCENES.guitar) } });

    const opened = await client.call('scene.open', { path: info.initialOpen!.path });
    expect(opened.summary.count).toBe(90854);
    // Relative, so it also works through a forwarded port.
    expect(opened.url.startsWith('/blob/')).toBe(true);
    const viaHttp = await fetch(`${server.origin}${opened.url}`);
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const httpBytes = new Uint8Array(await viaHttp.arrayBuffer());
    expect(new TextDecoder().decode(httpBytes.subarray(0, 100))).toMatch(/^ply\n/);
    const id = new URL(opened.url, server.origin).pathname.split('/').pop()!;
    const frameBytes = await client.call('blob.get', { id });
    expect(frameBytes.length).toBe(httpBytes.length);
    expect(Buffer.from(frameBytes).equals(Buffer.from(httpBytes))).toBe(true);
    // Without the token the blob is refused like everything else.
    expect((await fetch(`${server.origin}${opened.url.replace(/\?token=.*/, '')}`)).status).toBe(401);

    await expect(client.call('project.open', { dir: 'a\0b' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    client.close();
  });

  it('takes a dropped file at POST /upload and opens the stored copy', async () => {
    const withCookie: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), cookie: `${tokenCookieName(server.port)}=${server.token}` } });
    const original = readFileSync(sharedScene(SCENES.guitar));
    const uploaded = await uploadFile(new Blob([original]), '../../guitar.compressed.ply', server.origin, withCookie);
    expect(uploaded.bytes).toBe(original.length);
    expect(uploaded.path.startsWith(join(root, 'user-data', 'uploads'))).toBe(true);
    expect(uploaded.path.endsWith('/guitar.compressed.ply')).toBe(true);
    expect(readFileSync(uploaded.path).equals(original)).toBe(true);

    const transport = await connectWebSocket(`ws://127.0.0.1:${server.port}/rpc?token=${server.token}`, Ws);
    const client = new RpcClient<ApiMethods>(transport);
    expect((await client.call('app.info', {})).uploads).toBe(true);
    expect((await client.call('scene.open', { path: uploaded.path })).summary.count).toBe(90854);
    client.close();

    await expect(uploadFile(new Blob([original]), 'x.ply', server.origin)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const crossSite = await fetch(`${server.origin}/upload?name=x.ply&token=${server.token}`, { method: 'POST', body: 'ply', headers: { origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    await expect(uploadFile(new Blob([]), 'empty.ply', server.origin, withCookie)).rejects.toMatchObject({ code: 'EMPTY_SCENE' });
  });

  it('refuses uploads over the limit and keeps nothing of them', async () => {
    const small = await startServer({ rendererDir, userDataDir: join(root, 'ud-small'), maxUploadBytes: 1000 });
    try {
      const withCookie: typeof fetch = (input, init) => fetch(input, { ...init, headers: { cookie: `${tokenCookieName(small.port)}=${small.token}` } });
      await expect(uploadFile(new Blob([new Uint8Array(5000)]), 'big.ply', small.origin, withCookie)).rejects.toMatchObject({ code: 'TOO_LARGE' });
      expect(existsSync(join(root, 'ud-small', 'uploads')) ? readdirSync(join(root, 'ud-small', 'uploads')) : []).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('fails fast on an --open path that does not exist, and on malformed paths answers 400', async () => {
    await expect(startServer({ rendererDir, open: join(root, 'no-such-scene.ply') })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    expect(await rawGet(`/%E0%A4%A.js?token=${server.token}`, { host: `127.0.0.1:${server.port}` })).toBe(400);
  });

  it('keeps two servers apart: each reads only its own token cookie, though the browser sends both', async () => {
    const other = await startServer({ rendererDir, userDataDir: join(root, 'ud-two') });
    try {
      const mine = (await fetch(`${server.url}`)).headers.get('set-cookie')!.split(';')[0]!;
      const theirs = (await fetch(`${other.url}`)).headers.get('set-cookie')!.split(';')[0]!;
      expect(mine.split('=')[0]).not.toBe(theirs.split('=')[0]);
      const both = `${mine}; ${theirs}`;
      expect((await fetch(`${server.origin}/assets/app.js`, { headers: { cookie: both } })).status).toBe(200);
      expect((await fetch(`${other.origin}/assets/app.js`, { headers: { cookie: both } })).status).toBe(200);
      // A cookie handed out by one server opens nothing on the other.
      expect((await fetch(`${other.origin}/assets/app.js`, { headers: { cookie: mine } })).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('rejects calls with DISCONNECTED once the server stops', async () => {
    const other = await startServer({ rendererDir, userDataDir: join(root, 'ud-stop') });
    const transport = await connectWebSocket(`ws://127.0.0.1:${other.port}/rpc?token=${other.token}`, Ws);
    const client = new RpcClient<ApiMethods>(transport);
    expect((await client.call('app.info', {})).host).toBe('browser');
    const closed = new Promise<string>((r) => transport.onClose(r));
    await other.close();
    expect(await closed).toMatch(/websocket closed/);
    await expect(client.call('app.info', {})).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('runs as `saga-studio serve` and prints its URL', async () => {
    const child = spawn(process.execPath, [resolve(PROJECT_ROOT, 'main/host/bin.mjs'), 'serve', '--renderer', rendererDir, '--user-data', join(root, 'ud2')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolveLine, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /SAGA Studio: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)\n/.exec(out);
          if (m) resolveLine(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
      expect((await fetch(line)).status).toBe(200);
      expect((await fetch(line.replace(/\?token=.*/, ''))).status).toBe(401);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    expect(child.exitCode).toBe(0);
  });
});
