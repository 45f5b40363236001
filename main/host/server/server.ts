/**
 * Browser mode: a Node HTTP server on 127.0.0.1 that serves the built renderer (out/renderer) and
 * speaks the API over a WebSocket at /rpc. A random token guards everything: the page URL carries
 * it (?token=...), the page's answer sets it as a SameSite=Strict cookie so the page's own asset,
 * worker and blob requests carry it too, and the WebSocket upgrade must present it. Requests without
 * it get 401, with a wrong one 403. Responses are cross-origin isolated (COOP/COEP: the splat
 * viewer needs SharedArrayBuffer) and carry a strict CSP. Scene bytes are served at /blob/<id>.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { SagaBackend, blobBytes, classifyOpenPath, createBackendServer, defaultUserDataDir } from '../backend.ts';
import { SagaError, toSagaError } from '../../contract/errors.ts';
import { BROWSER_CONTENT_SECURITY_POLICY, ISOLATION_HEADERS, contentTypeFor } from '../../contract/security-headers.ts';
import { UPLOAD_PATH } from '../../contract/upload.ts';
import type { RegistryModel } from '../../engine/masks/models.ts';
import { receiveUpload } from './upload.ts';
import { wsServerTransport } from './ws-transport.ts';

// The page's policy (its API is a WebSocket to this server); tests compare the header with it.
export const CONTENT_SECURITY_POLICY = BROWSER_CONTENT_SECURITY_POLICY;

const SECURITY_HEADERS: Record<string, string> = {
  ...ISOLATION_HEADERS,
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  // The page URL holds the token: never send it on in a Referer header.
  'Referrer-Policy': 'no-referrer',
};

/**
 * The token cookie is named after the server's port: browsers send 127.0.0.1 cookies to every port,
 * so a second `serve` (or another local app) must neither overwrite nor be handed this one's name.
 */
export function tokenCookieName(port: number): string {
  return `saga_token_${port}`;
}

export interface ServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** The built renderer (electron-vite's out/renderer). */
  rendererDir?: string;
  /** A scene file, training output folder or project folder the UI opens on load. */
  open?: string;
  /** Where the recent-projects list lives (default ~/.local/share/saga-studio or $XDG_DATA_HOME). */
  userDataDir?: string;
  /** Use this token instead of a random one (tests that need a known value). */
  token?: string;
  /** Largest accepted POST /upload body. Default {@link DEFAULT_MAX_UPLOAD_BYTES}. */
  maxUploadBytes?: number;
  /** Where SAM models live (default: $SAGA_MODELS_DIR, else <userDataDir>/models). */
  modelsDir?: string;
  /** The SAM model registry (default resources/models.json); tests serve their own models. */
  modelRegistry?: RegistryModel[];
}

export interface RunningServer {
  /** The page URL with its token: what a person opens. */
  url: string;
  /** The origin, e.g. http://127.0.0.1:5173. */
  origin: string;
  port: number;
  token: string;
  backend: SagaBackend;
  close(): Promise<void>;
}

export function defaultRendererDir(): string {
  return resolve(import.meta.dirname, '../../../out/renderer');
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage, cookieName: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === cookieName) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** 'ok' when the request carries the token (query or cookie), else the HTTP status to refuse with. */
function checkToken(req: IncomingMessage, url: URL, token: string, cookieName: string): 'ok' | 401 | 403 {
  const given = url.searchParams.get('token') ?? cookieToken(req, cookieName);
  if (given === undefined || given === null || given === '') return 401;
  return sameToken(given, token) ? 'ok' : 403;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The Host header must name a loopback address: a page on another site that rebinds its DNS name
 * to 127.0.0.1 sends its own name and is refused. Any port: `ssh -L 9000:127.0.0.1:8080` makes the
 * laptop's browser say 127.0.0.1:9000.
 */
function hostAllowed(req: IncomingMessage): boolean {
  const host = req.headers.host;
  if (!host) return false;
  try {
    return LOOPBACK_NAMES.has(new URL(`http://${host}`).hostname);
  } catch {
    // Not even a valid host: refuse like any other foreign host.
    return false;
  }
}

/** A browser's Origin (sent on WebSocket upgrades and POSTs) must be the page's own: same host and port. */
function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser: the token alone decides
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && url.host === req.headers.host && LOOPBACK_NAMES.has(url.hostname);
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Cache-Control': 'no-store', ...(typeof body === 'string' ? { 'Content-Type': 'text/plain; charset=utf-8' } : {}), ...headers, 'Content-Length': String(body.length) });
  res.end(body);
}

const REFUSED: Record<401 | 403, string> = {
  401: 'SAGA Studio: this request has no access token. Open the exact URL that `npm run serve` printed (it ends in ?token=...).\n',
  403: 'SAGA Studio: wrong access token. Open the exact URL that the running `npm run serve` printed; a restarted server has a new token.\n',
};

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const rendererDir = resolve(options.rendererDir ?? defaultRendererDir());
  let port = options.port ?? 0;
  if (options.open !== undefined && !existsSync(options.open)) {
    throw new SagaError('FILE_NOT_FOUND', `Nothing to open at ${resolve(options.open)}. Check the --open path.`, { path: options.open });
  }
  let origin = '';
  const backend = new SagaBackend({
    host: 'browser',
    acceptsUploads: true,
    userDataDir: options.userDataDir ?? defaultUserDataDir(),
    // Relative: the page may reach us through a forwarded port, under another origin than ours.
    blobUrl: (id) => `/blob/${id}?token=${encodeURIComponent(token)}`,
    ...(options.open ? { initialOpen: classifyOpenPath(options.open) } : {}),
    ...(options.modelsDir ? { modelsDir: options.modelsDir } : {}),
    ...(options.modelRegistry ? { modelRegistry: options.modelRegistry } : {}),
  });
  const rpc = createBackendServer(backend);
  // Kept after the server stops: a project created from an uploaded scene references the file.
  const uploadsDir = join(options.userDataDir ?? defaultUserDataDir(), 'uploads');
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });

  async function serveStatic(res: ServerResponse, pathname: string, head: boolean): Promise<void> {
    let relative: string;
    try {
      relative = pathname === '/' ? 'index.html' : decodeURIComponent(pathname.slice(1));
    } catch (e) {
      if (e instanceof URIError) return send(res, 400, 'Malformed path.\n');
      throw e;
    }
    const file = normalize(join(rendererDir, relative));
    if (file !== rendererDir && !file.startsWith(rendererDir + sep)) return send(res, 404, 'Not found.\n');
    let body: Buffer;
    try {
      if (!(await stat(file)).isFile()) return send(res, 404, 'Not found.\n');
      body = await readFile(file);
    } catch (e) {
      const code = e instanceof Error && 'code' in e ? String(e.code) : '';
      if (code !== 'ENOENT') return send(res, 500, `Cannot read ${relative}: ${e instanceof Error ? e.message : String(e)}\n`);
      // Browsers ask for it on their own; without an icon in the build, answer "nothing" rather than log a 404.
      if (relative === 'favicon.ico') return send(res, 204, '');
      if (relative === 'index.html') {
        return send(res, 503, `SAGA Studio: the renderer is not built (no ${file}). Run \`npm run build\`, then start the server again.\n`);
      }
      return send(res, 404, 'Not found.\n');
    }
    const headers: Record<string, string> = { 'Content-Type': contentTypeFor(file) };
    if (relative === 'index.html') {
      headers['Set-Cookie'] = `${tokenCookieName(port)}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`;
    }
    if (head) {
      res.writeHead(200, { ...SECURITY_HEADERS, 'Cache-Control': 'no-store', ...headers, 'Content-Length': String(body.length) });
      res.end();
      return;
    }
    send(res, 200, body, headers);
  }

  const http = createServer((req, res) => {
    void (async () => {
      if (!hostAllowed(req)) return send(res, 403, 'SAGA Studio answers only on 127.0.0.1.\n');
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      const access = checkToken(req, url, token, tokenCookieName(port));
      if (access !== 'ok') return send(res, access, REFUSED[access]);
      if (url.pathname === UPLOAD_PATH && req.method === 'POST') {
        // Cross-site pages cannot send the SameSite cookie, but a token in their URL would do: check the origin too.
        if (!originAllowed(req)) return send(res, 403, 'Uploads are accepted from the SAGA Studio page only.\n');
        try {
          const result = await receiveUpload(req, uploadsDir, url.searchParams.get('name') ?? '', options.maxUploadBytes);
          return send(res, 200, JSON.stringify(result), { 'Content-Type': 'application/json' });
        } catch (e) {
          const err = toSagaError(e);
          const status = err.code === 'TOO_LARGE' ? 413 : err.code === 'INTERNAL' || err.code === 'WRITE_FAILED' ? 500 : 400;
          // The body may not have been read to its end: close the connection rather than reuse it.
          return send(res, status, JSON.stringify(err.toJSON()), { 'Content-Type': 'application/json', Connection: 'close' });
        }
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Only GET and HEAD (and POST /upload); the API is on the WebSocket.\n', { Allow: 'GET, HEAD' });
      const blobMatch = /^\/blob\/([A-Za-z0-9-]{1,100})$/.exec(url.pathname);
      if (blobMatch) {
        const blob = backend.blob(blobMatch[1]!);
        if (!blob) return send(res, 404, 'That scene data is no longer available: open the scene again.\n');
        const bytes = await blobBytes(blob);
        if (req.method === 'HEAD') {
          res.writeHead(200, { ...SECURITY_HEADERS, 'Cache-Control': 'no-store', 'Content-Type': blob.contentType, 'Content-Length': String(bytes.length) });
          res.end();
          return;
        }
        return send(res, 200, bytes, { 'Content-Type': blob.contentType, 'Content-Disposition': `inline; filename="${blob.fileName}"` });
      }
      if (url.pathname === '/rpc') return send(res, 426, 'This is the WebSocket endpoint.\n', { Upgrade: 'websocket' });
      await serveStatic(res, url.pathname, req.method === 'HEAD');
    })().catch((e: unknown) => {
      // A failure while answering must not take the server down; the request gets a 500.
      console.error(`saga-studio serve: ${req.method} ${req.url}: ${e instanceof Error ? e.stack : String(e)}`);
      if (!res.headersSent) send(res, 500, 'Internal error; see the server log.\n');
      else res.destroy();
    });
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!hostAllowed(req) || !originAllowed(req)) return refuse(403, 'Forbidden');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname !== '/rpc') return refuse(404, 'Not Found');
    const access = checkToken(req, url, token, tokenCookieName(port));
    if (access !== 'ok') return refuse(access, access === 401 ? 'Unauthorized' : 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => {
      rpc.attach(wsServerTransport(ws));
    });
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    http.once('error', rejectListen);
    http.listen(port, '127.0.0.1', () => {
      http.off('error', rejectListen);
      resolveListen();
    });
  });
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  port = address.port;
  origin = `http://127.0.0.1:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}/?token=${encodeURIComponent(token)}`,
    origin,
    port,
    token,
    backend,
    close: () => {
      closing ??= new Promise<void>((resolveClose) => {
        rpc.close();
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        backend.closeAll();
        http.close(() => resolveClose());
        http.closeAllConnections();
      });
      return closing;
    },
  };
}
