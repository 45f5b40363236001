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
import { browserModeSocketUrl, connectWebSocket, type WebSocketConstructor } from '../../contract/transports/websocket.ts';
import { uploadFile } from '../../contract/upload.ts';
import { CONTENT_SECURITY_POLICY, SERVER_LIMITS, startServer, type RunningServer } from './server.ts';
import { openSocket, rawExchange, readUntilClosed, statusOf } from './testing/raw-client.ts';
import { MAX_FRAME_BYTES } from '../../contract/transport.ts';

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
  it('serves the page under its token, cross-origin isolated, with the CSP and no cookie', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/${server.token}/`);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>SAGA Studio</title>');
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    // Browsers hand a 127.0.0.1 cookie to every port of that host: the token must not ride in one.
    expect(page.headers.get('set-cookie')).toBeNull();

    // The page's relative asset URLs resolve under the token.
    const asset = await get(new URL('assets/app.js', server.url).pathname);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    expect(asset.headers.get('set-cookie')).toBeNull();
    // Without the trailing slash the relative URLs would miss the token: redirected.
    const bare = await fetch(`${server.origin}/${server.token}`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe(`/${server.token}/`);
  });

  it('refuses requests without the token (401) or with a wrong one (403), cookies and queries included', async () => {
    expect((await get('/')).status).toBe(401);
    expect((await get('/assets/app.js')).status).toBe(401);
    expect((await get('/wrong-token-0123456789/')).status).toBe(403);
    expect((await get(`/?token=${server.token}`)).status).toBe(401);
    expect((await get('/assets/app.js', { cookie: `saga_token_${server.port}=${server.token}` })).status).toBe(401);
    const refused = await get('/');
    expect(new TextDecoder().decode(refused.body)).toContain('/<token>/');
    // The browser's own favicon request gets an empty answer, not a refusal logged in the console.
    expect((await get('/favicon.ico')).status).toBe(204);
  });

  it('refuses other Host names (DNS rebinding) and paths outside the renderer', async () => {
    const page = `/${server.token}/`;
    expect(await rawGet(page, { host: `evil.example:${server.port}` })).toBe(403);
    expect(await rawGet(page, { host: 'attacker.test' })).toBe(403);
    // A forwarded port (ssh -L 9000:127.0.0.1:<port>) names another port on a loopback host: served.
    expect(await rawGet(page, { host: 'localhost:9000' })).toBe(200);
    expect(await rawGet(`${page}%2e%2e/secret.txt`, { host: `127.0.0.1:${server.port}` })).toBe(404);
    expect(await rawGet(`${page}../secret.txt`, { host: `127.0.0.1:${server.port}` })).toBe(404);
    expect(await rawGet(`${page}%2e%2e/%2e%2e/secret.txt`, { host: `127.0.0.1:${server.port}` })).toBe(404);
  });

  it('refuses a WebSocket without the token, with a wrong one, or from another origin', async () => {
    const base = `ws://127.0.0.1:${server.port}`;
    await expect(connectWebSocket(`${base}/rpc`, Ws)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(connectWebSocket(`${base}/nope-nope-nope-nope/rpc`, Ws)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(connectWebSocket(`${base}/rpc?token=${server.token}`, Ws)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const upgradeStatus = (url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}) => new Promise<number>((resolveStatus) => {
      const ws = new WebSocket(url, options);
      ws.on('unexpected-response', (_req, res) => resolveStatus(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolveStatus(101);
      });
    });
    expect(await upgradeStatus(`${base}/${server.token}/rpc`, { origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(`${base}/rpc`)).toBe(401);
    // The cookie a previous version set opens nothing.
    expect(await upgradeStatus(`${base}/rpc`, { headers: { cookie: `saga_token_${server.port}=${server.token}` } })).toBe(401);
    expect(await upgradeStatus(`${base}/${server.token}/rpc`, { origin: server.origin })).toBe(101);
  });

  it('speaks the API over the WebSocket: initialOpen, scene bytes over HTTP and as a binary frame', async () => {
    const transport = await connectWebSocket(browserModeSocketUrl(server.url), Ws);
    const client = new RpcClient<ApiMethods>(transport);
    const info = await client.call('app.info', {});
    expect(info).toMatchObject({ host: 'browser', initialOpen: { kind: 'scene', path: sharedScene(SCENES.guitar) } });

    const opened = await client.call('scene.open', { path: info.initialOpen!.path });
    expect(opened.summary.count).toBe(90854);
    // Relative to the page, so it carries the token and works through a forwarded port.
    expect(opened.url.startsWith('blob/')).toBe(true);
    const blobUrl = new URL(opened.url, server.url);
    expect(blobUrl.pathname.startsWith(`/${server.token}/blob/`)).toBe(true);
    const viaHttp = await fetch(blobUrl);
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    const httpBytes = new Uint8Array(await viaHttp.arrayBuffer());
    expect(new TextDecoder().decode(httpBytes.subarray(0, 100))).toMatch(/^ply\n/);
    const id = blobUrl.pathname.split('/').pop()!;
    const frameBytes = await client.call('blob.get', { id });
    expect(frameBytes.length).toBe(httpBytes.length);
    expect(Buffer.from(frameBytes).equals(Buffer.from(httpBytes))).toBe(true);
    // Without the token the blob is refused like everything else.
    expect((await fetch(`${server.origin}/${opened.url}`)).status).toBe(401);

    await expect(client.call('project.open', { dir: 'a\0b' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    client.close();
  });

  it('takes a dropped file at <token>/upload and opens the stored copy', async () => {
    const original = readFileSync(sharedScene(SCENES.guitar));
    const uploaded = await uploadFile(new Blob([original]), '../../guitar.compressed.ply', server.url);
    expect(uploaded.bytes).toBe(original.length);
    expect(uploaded.path.startsWith(join(root, 'user-data', 'uploads'))).toBe(true);
    expect(uploaded.path.endsWith('/guitar.compressed.ply')).toBe(true);
    expect(readFileSync(uploaded.path).equals(original)).toBe(true);

    const transport = await connectWebSocket(browserModeSocketUrl(server.url), Ws);
    const client = new RpcClient<ApiMethods>(transport);
    expect((await client.call('app.info', {})).uploads).toBe(true);
    expect((await client.call('scene.open', { path: uploaded.path })).summary.count).toBe(90854);
    client.close();

    await expect(uploadFile(new Blob([original]), 'x.ply', `${server.origin}/`)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const crossSite = await fetch(new URL('upload?name=x.ply', server.url), { method: 'POST', body: 'ply', headers: { origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    await expect(uploadFile(new Blob([]), 'empty.ply', server.url)).rejects.toMatchObject({ code: 'EMPTY_SCENE' });
  });

  it('refuses uploads over the limit and keeps nothing of them', async () => {
    const small = await startServer({ rendererDir, userDataDir: join(root, 'ud-small'), maxUploadBytes: 1000 });
    try {
      await expect(uploadFile(new Blob([new Uint8Array(5000)]), 'big.ply', small.url)).rejects.toMatchObject({ code: 'TOO_LARGE', message: expect.stringContaining('1000') });
      expect(existsSync(join(root, 'ud-small', 'uploads')) ? readdirSync(join(root, 'ud-small', 'uploads')) : []).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('refuses a message over the frame limit before sending it, and keeps the connection', async () => {
    const client = new RpcClient<ApiMethods>(await connectWebSocket(browserModeSocketUrl(server.url), Ws));
    await expect(client.call('scene.open', { path: 'x'.repeat(MAX_FRAME_BYTES) })).rejects.toMatchObject({ code: 'TOO_LARGE', message: expect.stringMatching(/message limit of the connection/) });
    expect((await client.call('app.info', {})).host).toBe('browser');
    client.close();
  });

  it('drops an upload that stalls, answering 408 and keeping nothing of it', async () => {
    const stalling = await startServer({ rendererDir, userDataDir: join(root, 'ud-stall'), uploadIdleMs: 300 });
    try {
      const socket = await openSocket(stalling.port);
      const answer = readUntilClosed(socket, 5000);
      socket.write(`POST /${stalling.token}/upload?name=slow.ply HTTP/1.1\r\nHost: 127.0.0.1:${stalling.port}\r\nContent-Length: 100000\r\n\r\nply\n`);
      const response = (await answer).toString('latin1');
      expect(statusOf(Buffer.from(response, 'latin1'))).toBe(408);
      expect(response).toContain('stalled (nothing received for 0.3 s)');
      const uploads = join(root, 'ud-stall', 'uploads');
      expect(existsSync(uploads) ? readdirSync(uploads) : []).toEqual([]);
    } finally {
      await stalling.close();
    }
  });

  it('answers headers over the limit with 431 and a malformed request with 400', async () => {
    expect(await rawExchange(server.port, `GET /${server.token}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(SERVER_LIMITS.headerBytes)}\r\n\r\n`)).toBe(431);
    expect(await rawExchange(server.port, 'NOT HTTP AT ALL\r\n\r\n')).toBe(400);
    expect(await rawExchange(server.port, `GET //evil.example/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).toBe(401);
    expect(await rawExchange(server.port, `GET http://127.0.0.1/${server.token}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`)).toBe(400);
  });

  it('fails fast on an --open path that does not exist, and on malformed paths answers 400', async () => {
    await expect(startServer({ rendererDir, open: join(root, 'no-such-scene.ply') })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    expect(await rawGet(`/${server.token}/%E0%A4%A.js`, { host: `127.0.0.1:${server.port}` })).toBe(400);
  });

  it('keeps two servers apart: each answers only its own token', async () => {
    const other = await startServer({ rendererDir, userDataDir: join(root, 'ud-two') });
    try {
      expect(other.token).not.toBe(server.token);
      expect((await fetch(server.url)).status).toBe(200);
      expect((await fetch(other.url)).status).toBe(200);
      // One server's URL opens nothing on the other.
      expect((await fetch(`${other.origin}/${server.token}/`)).status).toBe(403);
    } finally {
      await other.close();
    }
  });

  it('rejects calls with DISCONNECTED once the server stops', async () => {
    const other = await startServer({ rendererDir, userDataDir: join(root, 'ud-stop') });
    const transport = await connectWebSocket(browserModeSocketUrl(other.url), Ws);
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
          const m = /SAGA Studio: (http:\/\/127\.0\.0\.1:\d+\/[\w-]+\/)\n/.exec(out);
          if (m) resolveLine(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
      });
      expect((await fetch(line)).status).toBe(200);
      expect((await fetch(new URL('/', line))).status).toBe(401);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    expect(child.exitCode).toBe(0);
  });
});
