/**
 * Client side of the WebSocket transport, for the renderer in browser mode. Uses the standard
 * WebSocket API (the browser's, or any constructor with the same shape, e.g. `ws` in Node tests);
 * no Node imports. The server side is main/host/server/ws-transport.ts.
 */
import { SagaError } from '../errors.ts';
import { TransportBase, asBytes, type Frame, type Transport } from '../transport.ts';

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
    this.socket.send(frame);
  }

  close(): void {
    if (this.closed) return;
    this.markClosed('closed locally');
    this.socket.close(1000, 'client closed');
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
      reject(new SagaError('UNAUTHORIZED', 'The SAGA Studio server refused the connection. Open the exact URL (with its ?token=...) that `npm run serve` printed.', { url: url.replace(/token=[^&]*/, 'token=…') }));
    };
    socket.onerror = refuse;
    socket.onclose = refuse;
  });
}

/** The WebSocket URL for a page served by browser mode: same host, path /rpc, the page's token. */
export function browserModeSocketUrl(location: { protocol: string; host: string; search: string }): string {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/rpc?token=${encodeURIComponent(token)}`;
}
