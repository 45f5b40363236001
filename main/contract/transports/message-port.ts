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

class MessagePortTransport extends TransportBase implements Transport {
  constructor(private readonly port: MessagePortLike) {
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
    this.port.postMessage(frame);
  }

  close(): void {
    if (this.closed) return;
    this.markClosed('closed locally');
    this.port.close();
  }
}

export function messagePortTransport(port: MessagePortLike): Transport {
  return new MessagePortTransport(port);
}
