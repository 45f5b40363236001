/**
 * Client side of the WebSocket transport, for the renderer in browser mode. Uses the standard
 * WebSocket API (the browser's, or any constructor with the same shape, e.g. `ws` in Node tests);
 * no Node imports. The server side is main/host/server/ws-transport.ts.
 */
import { SagaError } from '../errors.ts';
import { MAX_FRAME_BYTES, TransportBase, asBytes, frameBytesAtMost, type Frame, type Transport } from '../transport.ts';

/** The API's WebSocket endpoint, under the page's token: /<token>/rpc. */
export const RPC_PATH = '/rpc';

/** The parts of the standard WebSocket this transport uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

class WebSocketTransport extends TransportBase implements Transport {
  constructor(private readonly socket: WebSocketLike) {
    super();
    socket.onmessage = (event) => {
      const data = event.data;
      if (typeof data === 'string') this.deliver(data);
      else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) this.deliver(asBytes(data));
      else console.warn('saga websocket transport: dropped a message of unexpected type');
    };
    socket.onclose = (event) => this.markClosed(`websocket closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
  }

  send(frame: Frame): void {
    if (this.closed || this.socket.readyState !== OPEN) {
      throw new SagaError('DISCONNECTED', 'Lost the connection to the SAGA Studio server. Check that `npm run serve` is still running and reload the page.');
    }
    checkFrameSize(frame);
    this.socket.send(frame);
  }

  close(): void {
    if (this.closed) return;
    this.markClosed('closed locally');
    this.socket.close(1000, 'client closed');
  }
}

/**
 * Refuses a frame over MAX_FRAME_BYTES before it is sent: the server would close the whole
 * connection on it (code 1009), failing every other call in flight with it.
 */
export function checkFrameSize(frame: Frame): void {
  if (frameBytesAtMost(frame) <= MAX_FRAME_BYTES) return;
  const bytes = typeof frame === 'string' ? new TextEncoder().encode(frame).byteLength : frame.byteLength;
  if (bytes > MAX_FRAME_BYTES) {
    throw new SagaError('TOO_LARGE', `A request of ${bytes.toLocaleString('en-US')} bytes is over the ${MAX_FRAME_BYTES.toLocaleString('en-US')}-byte message limit of the connection. Send large data as a file (upload or path) instead.`, { bytes, max: MAX_FRAME_BYTES });
  }
}

/**
 * Open a WebSocket and resolve once it is connected. A refused upgrade (wrong or missing token)
 * rejects with SagaError('UNAUTHORIZED'): browsers do not expose the HTTP status, so any failure
 * before open is reported that way with what to check.
 */
export function connectWebSocket(url: string, Ctor?: WebSocketConstructor): Promise<Transport> {
  const Impl = Ctor ?? (globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Impl) return Promise.reject(new SagaError('INTERNAL', 'This environment has no WebSocket support.'));
  return new Promise((resolve, reject) => {
    const socket = new Impl(url);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => {
      socket.onerror = null;
      resolve(new WebSocketTransport(socket));
    };
    const refuse = () => {
      reject(new SagaError('UNAUTHORIZED', 'The SAGA Studio server refused the connection. Open the exact URL that `npm run serve` printed (http://127.0.0.1:<port>/<token>/); a restarted server has a new token.'));
    };
    socket.onerror = refuse;
    socket.onclose = refuse;
  });
}

/**
 * The WebSocket URL for a page served by browser mode: `rpc` beside the page, so under the page's
 * token (http://host/<token>/ gives ws://host/<token>/rpc) and through whatever port forwards it.
 */
export function browserModeSocketUrl(pageUrl: string): string {
  const url = new URL(RPC_PATH.slice(1), pageUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.href;
}
