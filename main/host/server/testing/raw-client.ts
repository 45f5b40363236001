/**
 * Raw HTTP and WebSocket bytes for tests of the browser-mode server: what `fetch` and `ws` refuse
 * to send (malformed requests, half-closed and reset sockets, frames that break the protocol).
 * Test-only; nothing here is used by the app.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** Opens a TCP connection to 127.0.0.1:port; resolves once connected. */
export function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Everything the server sends until it closes the connection or `ms` pass, whichever is first.
 * Errors (a reset by the server) end the wait like a close: the test looks at what arrived.
 */
export function readUntilClosed(socket: Socket, ms: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.once('close', done);
    socket.once('error', done);
  });
}

/** Sends `bytes` (optionally half-closing after), returns the status code of the answer or 0 if none. */
export async function rawExchange(port: number, bytes: Buffer | string, options: { halfClose?: boolean; waitMs?: number } = {}): Promise<number> {
  const socket = await openSocket(port);
  const answer = readUntilClosed(socket, options.waitMs ?? 2000);
  socket.write(bytes);
  if (options.halfClose) socket.end();
  return statusOf(await answer);
}

export function statusOf(response: Buffer): number {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(response.subarray(0, 20).toString('latin1'));
  return m ? Number(m[1]) : 0;
}

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/**
 * One client-to-server WebSocket frame (RFC 6455 section 5.2). `declaredLength` lets a test claim
 * another payload length than it sends; `masked: false` breaks the rule that clients mask.
 */
export function wsFrame(opcode: number, payload: Buffer | string, options: { fin?: boolean; masked?: boolean; declaredLength?: bigint; rsv?: number } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const length = options.declaredLength ?? BigInt(data.length);
  const masked = options.masked ?? true;
  const head: number[] = [((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f)];
  const maskBit = masked ? 0x80 : 0;
  let extended = Buffer.alloc(0);
  if (length < 126n) head.push(maskBit | Number(length));
  else if (length < 65536n) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(Number(length));
  } else {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(length);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), extended, data]);
  const key = randomBytes(4);
  const body = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) body[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), extended, key, body]);
}

/** A close frame with a status code (and optional reason). */
export function wsClose(code = 1000, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code);
  payload.write(reason, 2);
  return wsFrame(OPCODE.close, payload);
}

/** The HTTP upgrade request of a WebSocket handshake. */
export function upgradeRequest(path: string, port: number, extraHeaders: Record<string, string> = {}): string {
  const headers = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...extraHeaders,
  };
  return `GET ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}

/** Completes a WebSocket handshake on a raw socket; resolves with the socket once the server said 101. */
export async function openRawWebSocket(port: number, path: string): Promise<Socket> {
  const socket = await openSocket(port);
  await new Promise<void>((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      seen = Buffer.concat([seen, d]);
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (statusOf(seen) !== 101) reject(new Error(`upgrade refused: ${seen.subarray(0, end).toString('latin1')}`));
      else {
        // Frames the server sent right after its 101 stay readable for the caller's own listener.
        socket.pause();
        if (seen.length > end + 4) socket.unshift(seen.subarray(end + 4));
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(upgradeRequest(path, port));
  });
  return socket;
}
