/** Server side of the WebSocket transport: wraps a `ws` socket accepted by the browser-mode server. */
import type { RawData, WebSocket } from 'ws';
import { SagaError } from '../../contract/errors.ts';
import { TransportBase, type Frame, type Transport } from '../../contract/transport.ts';

function bytesOf(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class WsServerTransport extends TransportBase implements Transport {
  constructor(private readonly socket: WebSocket) {
    super();
    socket.on('message', (data, isBinary) => {
      if (isBinary) this.deliver(bytesOf(data));
      else this.deliver(Buffer.from(bytesOf(data)).toString('utf8'));
    });
    socket.on('close', (code, reason) => this.markClosed(`websocket closed (${code}${reason.length ? `: ${reason.toString()}` : ''})`));
    socket.on('error', (e) => this.markClosed(`websocket error: ${e.message}`));
  }

  send(frame: Frame): void {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) {
      throw new SagaError('DISCONNECTED', 'The browser closed its connection.');
    }
    this.socket.send(frame, { binary: typeof frame !== 'string' });
  }

  close(): void {
    if (this.closed) return;
    this.markClosed('closed by the server');
    this.socket.close(1001, 'server closing');
  }
}

export function wsServerTransport(socket: WebSocket): Transport {
  return new WsServerTransport(socket);
}
