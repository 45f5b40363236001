/**
 * Browser mode: a Node HTTP server on 127.0.0.1 that serves the built renderer (out/renderer) and
 * speaks the API over a WebSocket. A random token guards everything, as the first segment of every
 * path: the page is /<token>/, and because the renderer's URLs are relative its assets, the
 * WebSocket (<token>/rpc), uploads (<token>/upload) and scene bytes (<token>/blob/<id>) carry the
 * token too. No cookie: browsers send a 127.0.0.1 cookie to every port of that host, so any other
 * local web app would be handed it. Requests without the token get 401, with a wrong one 403.
 * Responses are cross-origin isolated (COOP/COEP: the splat viewer needs SharedArrayBuffer) and
 * carry a strict CSP. Limits (headers, upload size and idle time, WebSocket frame size) are in
 * {@link SERVER_LIMITS}; requests over them get an error that says which limit and what to do.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { PROJECT_ROOT } from '../../common/paths.ts';
import { SagaBackend, blobBytes, classifyOpenPath, createBackendServer, defaultUserDataDir } from '../backend.ts';
import { SagaError, toSagaError } from '../../contract/errors.ts';
import { BROWSER_CONTENT_SECURITY_POLICY, ISOLATION_HEADERS, contentTypeFor } from '../../contract/security-headers.ts';
import { MAX_FRAME_BYTES } from '../../contract/transport.ts';
import { RPC_PATH } from '../../contract/transports/websocket.ts';
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

/** Size and time limits of the server; each refusal names the limit it hit. */
export const SERVER_LIMITS = {
  /** Request line plus headers: a browser sends under 2 KB. Larger requests get 431. */
  headerBytes: 16 * 1024,
  /** Time for a client to send its headers (slow clients hold a socket no longer than this). */
  headersTimeoutMs: 20_000,
  /** An upload that sends nothing for this long is dropped (its partial file is removed). */
  uploadIdleMs: 60_000,
  /** Largest WebSocket message (see MAX_FRAME_BYTES: API requests are small JSON). */
  frameBytes: MAX_FRAME_BYTES,
} as const;

export interface ServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** The built renderer (electron-vite's out/renderer). */
  rendererDir?: string;
  /** A scene file, training output folder or project folder the UI opens on load. */
  open?: string;
  /** Where the recent-projects list lives (default ~/.local/share/saga-studio or $XDG_DATA_HOME). */
  userDataDir?: string;
  /** Use this token instead of a random one (tests that need a known value; URL-safe characters only). */
  token?: string;
  /** Largest accepted upload body. Default {@link DEFAULT_MAX_UPLOAD_BYTES}. */
  maxUploadBytes?: number;
  /** Where SAM models live (default: the per-user models folder every host shares, see main/common/user-data.ts). */
  modelsDir?: string;
  /** The SAM model registry (default resources/models.json); tests serve their own models. */
  modelRegistry?: RegistryModel[];
  /** Drop an upload that sends nothing for this long. Default {@link SERVER_LIMITS}.uploadIdleMs. */
  uploadIdleMs?: number;
}

export interface RunningServer {
  /** The page URL with its token (http://127.0.0.1:<port>/<token>/): what a person opens. */
  url: string;
  /** The origin, e.g. http://127.0.0.1:5173. */
  origin: string;
  port: number;
  token: string;
  backend: SagaBackend;
  close(): Promise<void>;
}

export function defaultRendererDir(): string {
  return join(PROJECT_ROOT, 'out/renderer');
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The request target split into path and query, with the token's path segment taken off. */
interface Target {
  /** The first path segment, where the token belongs ('' when the path is just '/'). */
  given: string;
  /** The rest of the path, starting with '/' ('' for /<token> without its trailing slash). */
  path: string;
  query: URLSearchParams;
}

/**
 * Splits a request target by hand rather than with `new URL(target, base)`: that would read
 * `//host/x` as another host and never names a malformed target; here anything that is not an
 * origin-form path (`/...`) is refused with 400.
 */
function parseTarget(target: string | undefined): Target | undefined {
  if (!target?.startsWith('/')) return undefined;
  const q = target.indexOf('?');
  const pathname = q < 0 ? target : target.slice(0, q);
  const slash = pathname.indexOf('/', 1);
  return {
    given: slash < 0 ? pathname.slice(1) : pathname.slice(1, slash),
    path: slash < 0 ? '' : pathname.slice(slash),
    query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
  };
}

/** What a token looks like (see startServer): a first segment such as `assets` or `rpc` is none. */
const TOKEN_SHAPE = /^[\w-]{16,200}$/;

/** 'ok' when the path carries the token; 401 when it carries none, 403 when a wrong one. */
function checkToken(given: string, token: string): 'ok' | 401 | 403 {
  if (!TOKEN_SHAPE.test(given)) return 401;
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
  401: 'SAGA Studio: this request has no access token. Open the exact URL that `npm run serve` printed (http://127.0.0.1:<port>/<token>/).\n',
  403: 'SAGA Studio: wrong access token. Open the exact URL that the running `npm run serve` printed; a restarted server has a new token.\n',
};

/** The status and text of an upload that failed with `err`. */
function uploadStatus(err: SagaError): number {
  if (err.code === 'TOO_LARGE') return 413;
  if (err.code === 'DISCONNECTED') return 408;
  return err.code === 'INTERNAL' || err.code === 'WRITE_FAILED' ? 500 : 400;
}

export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  if (!TOKEN_SHAPE.test(token)) {
    throw new SagaError('BAD_ARGUMENT', 'The access token must be 16 to 200 URL-safe characters (letters, digits, - and _).');
  }
  const rendererDir = resolve(options.rendererDir ?? defaultRendererDir());
  let port = options.port ?? 0;
  if (options.open !== undefined && !existsSync(options.open)) {
    throw new SagaError('FILE_NOT_FOUND', `Nothing to open at ${resolve(options.open)}. Check the --open path.`, { path: options.open });
  }
  const backend = new SagaBackend({
    host: 'browser',
    acceptsUploads: true,
    userDataDir: options.userDataDir ?? defaultUserDataDir(),
    // Relative to the page (/<token>/): it works through a forwarded port, and carries the token.
    blobUrl: (id) => `blob/${id}`,
    ...(options.open ? { initialOpen: classifyOpenPath(options.open) } : {}),
    ...(options.modelsDir ? { modelsDir: options.modelsDir } : {}),
    ...(options.modelRegistry ? { modelRegistry: options.modelRegistry } : {}),
  });
  const rpc = createBackendServer(backend);
  // Kept after the server stops: a project created from an uploaded scene references the file.
  const uploadsDir = join(options.userDataDir ?? defaultUserDataDir(), 'uploads');
  const wss = new WebSocketServer({ noServer: true, maxPayload: SERVER_LIMITS.frameBytes });

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
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return send(res, 500, `Cannot read ${relative}: ${e instanceof Error ? e.message : String(e)}\n`);
      if (relative === 'index.html') {
        return send(res, 503, `SAGA Studio: the renderer is not built (no ${file}). Run \`npm run build\`, then start the server again.\n`);
      }
      return send(res, 404, 'Not found.\n');
    }
    const headers: Record<string, string> = { 'Content-Type': contentTypeFor(file) };
    if (head) {
      res.writeHead(200, { ...SECURITY_HEADERS, 'Cache-Control': 'no-store', ...headers, 'Content-Length': String(body.length) });
      res.end();
      return;
    }
    send(res, 200, body, headers);
  }

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!hostAllowed(req)) return send(res, 403, 'SAGA Studio answers only on 127.0.0.1.\n');
    const target = parseTarget(req.url);
    if (!target) return send(res, 400, 'Malformed request target.\n');
    // Browsers ask for it on their own, without the token: answer "nothing" rather than refuse.
    if (target.given === 'favicon.ico' && target.path === '') return send(res, 204, '');
    const access = checkToken(target.given, token);
    if (access !== 'ok') return send(res, access, REFUSED[access]);
    // The page's relative URLs need the trailing slash.
    if (target.path === '') return send(res, 308, '', { Location: `/${token}/` });
    if (target.path === UPLOAD_PATH && req.method === 'POST') {
      // A page on another site that learnt the URL could post to it: only the page's own origin may.
      if (!originAllowed(req)) return send(res, 403, 'Uploads are accepted from the SAGA Studio page only.\n');
      try {
        const result = await receiveUpload(req, uploadsDir, target.query.get('name') ?? '', { maxBytes: options.maxUploadBytes, idleMs: options.uploadIdleMs ?? SERVER_LIMITS.uploadIdleMs });
        return send(res, 200, JSON.stringify(result), { 'Content-Type': 'application/json' });
      } catch (e) {
        const err = toSagaError(e);
        // The body may not have been read to its end: close the connection rather than reuse it.
        return send(res, uploadStatus(err), JSON.stringify(err.toJSON()), { 'Content-Type': 'application/json', Connection: 'close' });
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Only GET and HEAD (and POST upload); the API is on the WebSocket.\n', { Allow: 'GET, HEAD' });
    const blobMatch = /^\/blob\/([A-Za-z0-9-]{1,100})$/.exec(target.path);
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
    if (target.path === RPC_PATH) return send(res, 426, 'This is the WebSocket endpoint.\n', { Upgrade: 'websocket' });
    await serveStatic(res, target.path, req.method === 'HEAD');
  }

  const http = createServer({ maxHeaderSize: SERVER_LIMITS.headerBytes, headersTimeout: SERVER_LIMITS.headersTimeoutMs, requestTimeout: 0 }, (req, res) => {
    answer(req, res).catch((e: unknown) => {
      // A failure while answering must not take the server down; the request gets a 500.
      console.error(`saga-studio serve: ${req.method} ${req.url}: ${e instanceof Error ? e.stack : String(e)}`);
      if (!res.headersSent) send(res, 500, 'Internal error; see the server log.\n');
      else res.destroy();
    });
  });
  // A malformed request (bad request line, headers over the limit, a reset mid-request) is answered
  // here when the socket can still take it; Node's default would do the same, but silently drop
  // the 431's reason.
  http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const body = tooLarge ? `Request headers over ${SERVER_LIMITS.headerBytes} bytes.\n` : 'Malformed HTTP request.\n';
    socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A reset while the upgrade is refused or completed must not become an uncaught 'error'.
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!hostAllowed(req) || !originAllowed(req)) return refuse(403, 'Forbidden');
    const target = parseTarget(req.url);
    if (!target) return refuse(400, 'Bad Request');
    const access = checkToken(target.given, token);
    if (access !== 'ok') return refuse(access, access === 401 ? 'Unauthorized' : 'Forbidden');
    if (target.path !== RPC_PATH) return refuse(404, 'Not Found');
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
  const origin = `http://127.0.0.1:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: `${origin}/${token}/`,
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
