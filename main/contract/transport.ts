/**
 * The one thing the RPC needs from a channel: deliver frames in order both ways and say when it closed.
 * A frame is either a JSON text message or a binary frame (bytes that must not ride in JSON).
 * Imported by the renderer and preload too: no Node imports here.
 */

export type Frame = string | Uint8Array;

/**
 * Largest frame a network transport carries (the browser-mode WebSocket's limit on both sides).
 * API requests are small JSON and large data travels as HTTP downloads, so 16 MiB is far above any
 * real message while a runaway or hostile client cannot make the server buffer gigabytes.
 */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Upper bound of a frame's size in bytes, without encoding it (a UTF-16 unit is at most 3 UTF-8 bytes). */
export function frameBytesAtMost(frame: Frame): number {
  return typeof frame === 'string' ? frame.length * 3 : frame.byteLength;
}

export interface Transport {
  /**
   * Queue a frame for the other side. Sending on a closed transport throws SagaError('DISCONNECTED').
   * A binary frame belongs to the transport once sent (it may be transferred to another thread).
   */
  send(frame: Frame): void;
  /** Receive every frame from the other side, in order. Returns the unsubscribe function. */
  onFrame(listener: (frame: Frame) => void): () => void;
  /** Called once when either side closed (or the channel broke). Returns the unsubscribe function. */
  onClose(listener: (reason: string) => void): () => void;
  close(): void;
  readonly closed: boolean;
}

/**
 * Shared bookkeeping for the concrete transports: listener lists, the closed flag, and frames that
 * arrive before anyone listens (a server may answer before the client subscribed).
 */
export class TransportBase {
  private readonly frameListeners = new Set<(frame: Frame) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private pending: Frame[] = [];
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  onFrame(listener: (frame: Frame) => void): () => void {
    this.frameListeners.add(listener);
    if (this.pending.length) {
      const queued = this.pending;
      this.pending = [];
      for (const f of queued) listener(f);
    }
    return () => this.frameListeners.delete(listener);
  }

  onClose(listener: (reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Hand a received frame to the listeners (or keep it until the first listener arrives). */
  protected deliver(frame: Frame): void {
    if (this.isClosed) return;
    if (this.frameListeners.size === 0) {
      this.pending.push(frame);
      return;
    }
    for (const l of [...this.frameListeners]) l(frame);
  }

  /** Mark closed and tell the listeners once. */
  protected markClosed(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.pending = [];
    for (const l of [...this.closeListeners]) l(reason);
    this.closeListeners.clear();
    this.frameListeners.clear();
  }
}

/** Normalise whatever binary shape a channel hands over (ArrayBuffer, Buffer, typed array view) to a Uint8Array. */
export function asBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
