/**
 * A small RPC over a Transport. Messages are JSON; a message holding typed arrays (params or result)
 * travels as one binary frame with the arrays as attachments (binary-frame.ts), so scene data,
 * feature maps and selections never become JSON numbers. Long work is a job: the handler returns { jobId } at once and the server pushes
 * JobEvents (progress, result, error) to every attached client; 'job.cancel' aborts the job's signal,
 * 'job.pause' and 'job.resume' hold a pausable job between two of its steps.
 * Imported by the renderer and preload too: no Node imports here.
 */
import type { ApiMethods, HostNotice, JobEvent, JobProgress, JobStarted } from './api.ts';
import { SagaError, isSagaError, toSagaError, type SagaErrorData } from './errors.ts';
import { decodeFrame, encodeFrame } from './binary-frame.ts';
import type { Frame, Transport } from './transport.ts';

/** Any map from method name to { params, result }; ApiMethods is one. */
export type MethodMap<M> = { [K in keyof M]: { params: unknown; result: unknown } };

export type RpcMessage =
  | { type: 'request'; id: number; method: string; params: unknown }
  | { type: 'response'; id: number; ok: true; result: unknown }
  | { type: 'response'; id: number; ok: false; error: SagaErrorData }
  | { type: 'job'; event: JobEvent }
  | { type: 'notice'; notice: HostNotice };

function parseMessage(frame: Frame): RpcMessage | undefined {
  const value = decodeFrame(frame);
  if (typeof value !== 'object' || value === null || !('type' in value)) return undefined;
  return value as RpcMessage;
}

function isErrorData(v: unknown): v is SagaErrorData {
  return typeof v === 'object' && v !== null && typeof (v as SagaErrorData).code === 'string' && typeof (v as SagaErrorData).message === 'string';
}

// ---------------------------------------------------------------------------------------------
// Client

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: SagaError) => void;
  timer?: ReturnType<typeof setTimeout>;
}

export interface RpcClientOptions {
  /** Reject a call that got no answer in this time (default: none; jobs cover long work). */
  timeoutMs?: number;
  /** Where frames that cannot be understood are reported (default: console.warn). */
  onProtocolError?: (message: string) => void;
}

export class RpcClient<M extends MethodMap<M> = ApiMethods> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly jobListeners = new Set<(event: JobEvent) => void>();
  private readonly noticeListeners = new Set<(notice: HostNotice) => void>();
  private readonly onProtocolError: (message: string) => void;

  constructor(
    private readonly transport: Transport,
    private readonly options: RpcClientOptions = {},
  ) {
    this.onProtocolError = options.onProtocolError ?? ((m) => console.warn(`saga rpc client: ${m}`));
    transport.onFrame((frame) => this.receive(frame));
    transport.onClose((reason) => this.failAll(reason));
  }

  call<K extends keyof M & string>(method: K, params: M[K]['params']): Promise<M[K]['result']> {
    if (this.transport.closed) {
      return Promise.reject(disconnected('the connection is closed'));
    }
    const id = this.nextId++;
    return new Promise<M[K]['result']>((resolve, reject) => {
      const entry: Pending = { resolve: resolve as (v: unknown) => void, reject };
      if (this.options.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new SagaError('INTERNAL', `The app did not answer '${method}' within ${this.options.timeoutMs} ms. Try again; restart the app if it keeps happening.`, { method }));
        }, this.options.timeoutMs);
      }
      this.pending.set(id, entry);
      try {
        this.transport.send(encodeFrame({ type: 'request', id, method, params } satisfies RpcMessage));
      } catch (e) {
        this.settle(id);
        reject(toSagaError(e));
      }
    });
  }

  /** Subscribe to job events; returns the unsubscribe function. */
  onJobEvent(listener: (event: JobEvent) => void): () => void {
    this.jobListeners.add(listener);
    return () => this.jobListeners.delete(listener);
  }

  /** Subscribe to the host's notices; returns the unsubscribe function. */
  onNotice(listener: (notice: HostNotice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  /**
   * Called once with a DISCONNECTED error when the transport closes (at once, on the next turn, if
   * it already has). Returns the unsubscribe function.
   */
  onDisconnect(listener: (error: SagaErrorData) => void): () => void {
    if (this.transport.closed) {
      let active = true;
      queueMicrotask(() => {
        if (active) listener(disconnected('the connection is closed').toJSON());
      });
      return () => {
        active = false;
      };
    }
    return this.transport.onClose((reason) => listener(disconnected(reason).toJSON()));
  }

  close(): void {
    this.transport.close();
    this.failAll('closed by the client');
  }

  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    return entry;
  }

  private receive(frame: Frame): void {
    const msg = parseMessage(frame);
    if (!msg) return this.onProtocolError('dropped a frame that is not an RPC message');
    if (msg.type === 'job') {
      for (const l of [...this.jobListeners]) l(msg.event);
      return;
    }
    if (msg.type === 'notice') {
      for (const l of [...this.noticeListeners]) l(msg.notice);
      return;
    }
    if (msg.type !== 'response') return this.onProtocolError(`dropped an unexpected '${msg.type}' message`);
    const entry = this.settle(msg.id);
    if (!entry) return this.onProtocolError(`dropped an answer to unknown request ${msg.id}`);
    if (msg.ok) entry.resolve(msg.result);
    else entry.reject(isErrorData(msg.error) ? SagaError.fromJSON(msg.error) : new SagaError('INTERNAL', 'The app sent a malformed error.'));
  }

  private failAll(reason: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(disconnected(reason));
  }
}

function disconnected(reason: string): SagaError {
  return new SagaError('DISCONNECTED', `Lost the connection to the SAGA Studio backend (${reason}). Reload the page or restart the app.`, { reason });
}

// ---------------------------------------------------------------------------------------------
// Jobs

export type JobReporter = (progress: JobProgress) => void;

/** What a pausable job's work uses to honour pause and resume. */
export interface JobControl {
  /** Resolves at once unless the job is paused; then when it is resumed or cancelled. */
  whilePaused(): Promise<void>;
  readonly paused: boolean;
}

export type JobWork<R> = (signal: AbortSignal, report: JobReporter, control: JobControl) => Promise<R>;

interface RunningJob {
  controller: AbortController;
  pausable: boolean;
  paused: boolean;
  waiters: (() => void)[];
  /** The last progress sent, repeated with `paused` when the job pauses or resumes. */
  last?: JobProgress;
}

/** Runs long work off the request path and turns its life into JobEvents. */
export class JobRunner {
  private nextId = 1;
  private readonly running = new Map<string, RunningJob>();

  constructor(
    private readonly emit: (event: JobEvent) => void,
    /** Least time between two progress events of a job (the end of a stage always goes out). */
    private readonly progressIntervalMs = 50,
  ) {}

  /**
   * Start `work` on the next turn (so the caller can return the id before any event arrives).
   * A `pausable` job can be paused and resumed (job.pause / job.resume); its work awaits
   * `control.whilePaused()` where stopping is safe.
   */
  start<R>(kind: string, work: JobWork<R>, options: { pausable?: boolean } = {}): JobStarted {
    const jobId = `${kind}-${this.nextId++}`;
    const controller = new AbortController();
    const job: RunningJob = { controller, pausable: options.pausable ?? false, paused: false, waiters: [] };
    this.running.set(jobId, job);
    let lastReport = -Infinity;
    const report: JobReporter = (progress) => {
      if (!this.running.has(jobId)) return;
      job.last = progress;
      // A reader may report per chunk; a UI needs a few updates a second, not thousands.
      const now = Date.now();
      const stageEnd = progress.done >= progress.total;
      if (!stageEnd && now - lastReport < this.progressIntervalMs) return;
      lastReport = now;
      this.emit({ jobId, kind: 'progress', progress: job.paused ? { ...progress, paused: true } : progress });
    };
    const control: JobControl = {
      whilePaused: () => (job.paused && !controller.signal.aborted ? new Promise<void>((resolve) => job.waiters.push(resolve)) : Promise.resolve()),
      get paused() {
        return job.paused;
      },
    };
    controller.signal.addEventListener('abort', () => this.wake(job), { once: true });
    setTimeout(() => {
      const run = async () => {
        controller.signal.throwIfAborted();
        return work(controller.signal, report, control);
      };
      run().then(
        (result) => {
          this.running.delete(jobId);
          if (controller.signal.aborted) this.emit({ jobId, kind: 'error', error: cancelled(kind).toJSON() });
          else this.emit({ jobId, kind: 'result', result });
        },
        (e: unknown) => {
          this.running.delete(jobId);
          // A SagaError from the work is kept as is, CANCELLED included (its message may say what was
          // kept, e.g. "3 of 24 views were prepared"); anything else thrown after an abort is the abort.
          const err = controller.signal.aborted && !(e instanceof SagaError) ? cancelled(kind) : toSagaError(e);
          this.emit({ jobId, kind: 'error', error: err.toJSON() });
        },
      );
    }, 0);
    return { jobId };
  }

  cancel(jobId: string): void {
    this.running.get(jobId)?.controller.abort();
  }

  /** Pauses a pausable job (a no-op for a finished or unknown one). */
  pause(jobId: string): void {
    this.setPaused(jobId, true);
  }

  resume(jobId: string): void {
    this.setPaused(jobId, false);
  }

  private setPaused(jobId: string, paused: boolean): void {
    const job = this.running.get(jobId);
    if (!job) return;
    if (!job.pausable) throw new SagaError('BAD_ARGUMENT', 'This job cannot be paused; cancel it instead.', { jobId });
    if (job.paused === paused) return;
    job.paused = paused;
    if (!paused) this.wake(job);
    this.emit({ jobId, kind: 'progress', progress: { ...(job.last ?? { stage: 'start', done: 0, total: 1 }), paused } });
  }

  private wake(job: RunningJob): void {
    for (const w of job.waiters.splice(0)) w();
  }

  cancelAll(): void {
    for (const j of this.running.values()) j.controller.abort();
  }

  isPaused(jobId: string): boolean {
    return this.running.get(jobId)?.paused ?? false;
  }

  get activeJobIds(): string[] {
    return [...this.running.keys()];
  }
}

function cancelled(kind: string): SagaError {
  return new SagaError('CANCELLED', `The ${kind} job was cancelled.`);
}

// ---------------------------------------------------------------------------------------------
// Server

export interface RequestContext {
  jobs: JobRunner;
}

export type Handler<P, R> = (params: P, ctx: RequestContext) => Promise<R> | R;

/** Job control built into the server: every job runner's jobs answer these. */
type BuiltIn = 'job.cancel' | 'job.pause' | 'job.resume';

/** One handler per method; the job control methods are built into the server. */
export type Handlers<M extends MethodMap<M>> = {
  [K in Exclude<keyof M, BuiltIn>]: Handler<M[K]['params'], M[K]['result']>;
};

export interface RpcServerOptions {
  /** Throws SagaError('BAD_ARGUMENT') when a request's params do not fit its method. */
  validate?: (method: string, params: unknown) => void;
  /** Where frames that cannot be understood are reported (default: console.warn). */
  onProtocolError?: (message: string) => void;
}

export class RpcServer<M extends MethodMap<M> = ApiMethods> {
  readonly jobs: JobRunner;
  private readonly connections = new Set<Transport>();
  private readonly onProtocolError: (message: string) => void;

  constructor(
    private readonly handlers: Handlers<M>,
    private readonly options: RpcServerOptions = {},
  ) {
    this.onProtocolError = options.onProtocolError ?? ((m) => console.warn(`saga rpc server: ${m}`));
    this.jobs = new JobRunner((event) => this.broadcast({ type: 'job', event }));
  }

  /** Serve requests arriving on `transport` until it closes. Returns a detach function. */
  attach(transport: Transport): () => void {
    this.connections.add(transport);
    const offFrame = transport.onFrame((frame) => {
      // receive() answers every failure itself; what is left (a bug) is reported, never left as an
      // unhandled rejection, which would end the process.
      this.receive(transport, frame).catch((e: unknown) => this.onProtocolError(`a request failed while being answered: ${e instanceof Error ? e.stack : String(e)}`));
    });
    const offClose = transport.onClose(() => this.connections.delete(transport));
    return () => {
      offFrame();
      offClose();
      this.connections.delete(transport);
    };
  }

  /** Tell every attached client something it did not ask for (see HostNotice). */
  notify(notice: HostNotice): void {
    this.broadcast({ type: 'notice', notice });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stop every job and close every connection. */
  close(): void {
    this.jobs.cancelAll();
    for (const t of [...this.connections]) t.close();
    this.connections.clear();
  }

  private broadcast(msg: RpcMessage): void {
    const frame = encodeFrame(msg);
    // Each connection gets its own copy of a binary frame: a MessagePort transport transfers it.
    for (const t of this.connections) this.sendTo(t, typeof frame === 'string' ? frame : frame.slice());
  }

  /**
   * Sends unless the client is gone. A transport can be closing before it says closed (a WebSocket
   * whose close frame arrived with the request): its DISCONNECTED means nobody is left to answer,
   * so it is dropped here rather than thrown into a job's progress report or a pending reply.
   */
  private sendTo(transport: Transport, frame: Frame): void {
    if (transport.closed) return;
    try {
      transport.send(frame);
    } catch (e) {
      if (isSagaError(e, 'DISCONNECTED')) return;
      throw e;
    }
  }

  private async receive(transport: Transport, frame: Frame): Promise<void> {
    const msg = parseMessage(frame);
    if (!msg || msg.type !== 'request' || typeof msg.id !== 'number' || typeof msg.method !== 'string') {
      return this.onProtocolError('dropped a text frame that is not an RPC request');
    }
    const { id, method, params } = msg;
    let result: unknown;
    try {
      result = await this.dispatch(method, params);
    } catch (e) {
      const error = toSagaError(e);
      if (error.code === 'INTERNAL') this.onProtocolError(`'${method}' failed: ${String((error.cause as Error | undefined)?.stack ?? error.message)}`);
      return this.reply(transport, { type: 'response', id, ok: false, error: error.toJSON() });
    }
    this.reply(transport, { type: 'response', id, ok: true, result: result ?? null });
  }

  private async dispatch(method: string, params: unknown): Promise<unknown> {
    this.options.validate?.(method, params);
    if (method === 'job.cancel' || method === 'job.pause' || method === 'job.resume') {
      const jobId = (params as { jobId?: unknown } | null)?.jobId;
      if (typeof jobId !== 'string') throw new SagaError('BAD_ARGUMENT', `'${method}' needs a jobId string.`);
      if (method === 'job.cancel') this.jobs.cancel(jobId);
      else if (method === 'job.pause') this.jobs.pause(jobId);
      else this.jobs.resume(jobId);
      return null;
    }
    if (!Object.prototype.hasOwnProperty.call(this.handlers, method)) {
      throw new SagaError('BAD_ARGUMENT', `Unknown request '${method}'. The app and its window may be from different versions: restart the app.`, { method });
    }
    const handler = (this.handlers as unknown as Record<string, Handler<unknown, unknown>>)[method]!;
    return handler(params ?? {}, { jobs: this.jobs });
  }

  private reply(transport: Transport, msg: RpcMessage): void {
    this.sendTo(transport, encodeFrame(msg));
  }
}
