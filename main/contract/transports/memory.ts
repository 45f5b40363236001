/**
 * Two connected in-process transports, for tests and for running the backend inside the same
 * JavaScript context as the UI. Delivery is asynchronous (a microtask) like every real channel, and
 * binary frames are copied so neither side can mutate the other's bytes.
 */
import { SagaError } from '../errors.ts';
import { TransportBase, type Frame, type Transport } from '../transport.ts';

class MemoryTransport extends TransportBase implements Transport {
  peer!: MemoryTransport;

  send(frame: Frame): void {
    if (this.closed) throw new SagaError('DISCONNECTED', 'The in-memory connection is closed.');
    const copy = typeof frame === 'string' ? frame : frame.slice();
    queueMicrotask(() => this.peer.receive(copy));
  }

  receive(frame: Frame): void {
    this.deliver(frame);
  }

  close(): void {
    if (this.closed) return;
    this.markClosed('closed locally');
    queueMicrotask(() => this.peer.remoteClosed());
  }

  remoteClosed(): void {
    this.markClosed('closed by the other side');
  }
}

export function memoryTransportPair(): [Transport, Transport] {
  const a = new MemoryTransport();
  const b = new MemoryTransport();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
