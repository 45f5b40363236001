/**
 * Transport over a MessagePort: Electron's MessagePortMain in main, the DOM MessagePort in preload,
 * node:worker_threads MessagePort in tests. Written against the smallest structural port type so
 * this file imports neither 'electron' nor Node modules.
 */
import { SagaError } from '../errors.ts';
import { TransportBase, asBytes, type Frame, type Transport } from '../transport.ts';

/** What the three port flavours have in common (Node/Electron use `on`, the DOM uses `onmessage`). */
export interface MessagePortLike {
  postMessage(message: unknown): void;
  start?(): void;
  close(): void;
  on?(event: 'message' | 'close', listener: (value: unknown) => void): unknown;
  onmessage?: ((event: { data: unknown }) => void) | null;
}

/**
 * Node's port hands over the posted value; Electron's MessagePortMain and the DOM hand over an event
 * with `.data`. Our frames are strings or byte arrays, never plain objects, so an object with a
 * `data` field is an event to unwrap.
 */
function frameOf(value: unknown): Frame | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return asBytes(value);
  if (typeof value === 'object' && value !== null && 'data' in value) return frameOf((value as { data: unknown }).data);
  return undefined;
}

export interface MessagePortTransportOptions {
  /**
   * Transfer the buffer of a binary frame instead of copying it, when the frame owns its whole
   * buffer (frames built by the RPC do; the sender never touches a frame after send()). For ports
   * that can transfer ArrayBuffers (Node worker ports, the DOM); Electron's MessagePortMain cannot.
   */
  transferBytes?: boolean;
}

class MessagePortTransport extends TransportBase implements Transport {
  constructor(
    private readonly port: MessagePortLike,
    private readonly options: MessagePortTransportOptions = {},
  ) {
    super();
    const onMessage = (value: unknown) => {
      const frame = frameOf(value);
      if (frame === undefined) {
        console.warn('saga message-port transport: dropped a message that is neither text nor bytes');
        return;
      }
      this.deliver(frame);
    };
    if (port.on) {
      port.on('message', onMessage);
      port.on('close', () => this.markClosed('port closed'));
    } else {
      port.onmessage = onMessage;
    }
    port.start?.();
  }

  send(frame: Frame): void {
    if (this.closed) throw new SagaError('DISCONNECTED', 'The window lost its connection to the app. Reload the window.');
    if (this.options.transferBytes && typeof frame !== 'string' && frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength && frame.buffer instanceof ArrayBuffer) {
      // Only ports that accept a transfer list of ArrayBuffers are given this option (see above).
      (this.port.postMessage as (message: unknown, transfer: ArrayBuffer[]) => void).call(this.port, frame, [frame.buffer]);
    } else {
      this.port.postMessage(frame);
    }
  }

  close(): void {
    if (this.closed) return;
    this.markClosed('closed locally');
    this.port.close();
  }
}

export function messagePortTransport(port: MessagePortLike, options: MessagePortTransportOptions = {}): Transport {
  return new MessagePortTransport(port, options);
}
