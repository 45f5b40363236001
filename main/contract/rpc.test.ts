import { describe, expect, it } from 'vitest';
import type { JobEvent } from './api.ts';
import { SagaError } from './errors.ts';
import { RpcClient, RpcServer, type Handlers } from './rpc.ts';
import { memoryTransportPair } from './transports/memory.ts';

/** A small method map standing in for ApiMethods, so the RPC layer is tested on its own. */
interface TestMethods {
  'math.add': { params: { a: number; b: number }; result: number };
  'file.fail': { params: { path: string }; result: null };
  'blob.get': { params: { size: number }; result: Uint8Array };
  'work.count': { params: { to: number; stepMs: number }; result: { jobId: string } };
  'work.careful': { params: Record<string, never>; result: { jobId: string } };
  'work.pausable': { params: Record<string, never>; result: { jobId: string } };
  'job.cancel': { params: { jobId: string }; result: null };
  'job.pause': { params: { jobId: string }; result: null };
  'job.resume': { params: { jobId: string }; result: null };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    }, { once: true });
  });
}

async function waitFor(ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

const handlers: Handlers<TestMethods> = {
  'math.add': ({ a, b }) => a + b,
  'file.fail': ({ path }) => {
    throw new SagaError('FILE_NOT_FOUND', `No file at ${path}. Check the path.`, { path });
  },
  'blob.get': ({ size }) => Uint8Array.from({ length: size }, (_, i) => i & 255),
  'work.count': ({ to, stepMs }, { jobs }) =>
    jobs.start('count', async (signal, report) => {
      for (let i = 1; i <= to; i++) {
        await sleep(stepMs, signal);
        report({ stage: 'counting', done: i, total: to });
      }
      return { counted: to };
    }),
  // Work that answers its own cancellation with a message saying what it kept.
  'work.careful': (_params, { jobs }) =>
    jobs.start('careful', async (signal, report) => {
      let done = 0;
      try {
        for (;;) {
          await sleep(5, signal);
          report({ stage: 'steps', done: ++done, total: 1000 });
        }
      } catch (e) {
        if (signal.aborted) throw new SagaError('CANCELLED', `Stopped after ${done} steps; they are kept.`, { done });
        throw e;
      }
    }),
  // Steps that stop between two steps while paused.
  'work.pausable': (_params, { jobs }) =>
    jobs.start('pausable', async (signal, report, control) => {
      for (let i = 1; i <= 30; i++) {
        await control.whilePaused();
        signal.throwIfAborted();
        await sleep(5, signal);
        report({ stage: 'steps', done: i, total: 30 });
      }
      return { steps: 30 };
    }, { pausable: true }),
};

function connect() {
  const [clientSide, serverSide] = memoryTransportPair();
  const server = new RpcServer<TestMethods>(handlers, { onProtocolError: () => {} });
  server.attach(serverSide);
  const client = new RpcClient<TestMethods>(clientSide);
  return { server, client, clientSide };
}

function eventsUntilDone(client: RpcClient<TestMethods>, jobId: string): Promise<JobEvent[]> {
  return new Promise((resolve) => {
    const seen: JobEvent[] = [];
    const off = client.onJobEvent((e) => {
      if (e.jobId !== jobId) return;
      seen.push(e);
      if (e.kind !== 'progress') {
        off();
        resolve(seen);
      }
    });
  });
}

describe('RPC over the in-memory transport', () => {
  it('answers calls with typed results, concurrently and in any order', async () => {
    const { client } = connect();
    const results = await Promise.all([client.call('math.add', { a: 2, b: 3 }), client.call('math.add', { a: -1, b: 0.5 })]);
    expect(results).toEqual([5, -0.5]);
  });

  it('rejects with the SagaError the handler threw, code and details intact', async () => {
    const { client } = connect();
    const err = await client.call('file.fail', { path: '/nowhere.ply' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SagaError);
    expect((err as SagaError).code).toBe('FILE_NOT_FOUND');
    expect((err as SagaError).message).toContain('/nowhere.ply');
    expect((err as SagaError).details).toEqual({ path: '/nowhere.ply' });
  });

  it('turns unknown methods into BAD_ARGUMENT', async () => {
    const [c, s] = memoryTransportPair();
    new RpcServer<TestMethods>(handlers).attach(s);
    const client = new RpcClient<{ 'no.such': { params: object; result: null } }>(c);
    await expect(client.call('no.such', {})).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('sends byte results as one binary frame, not JSON', async () => {
    const { client, clientSide } = connect();
    const frames: string[] = [];
    clientSide.onFrame((f) => frames.push(typeof f === 'string' ? 'text' : 'binary'));
    const bytes = await client.call('blob.get', { size: 1000 });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(bytes.length).toBe(1000);
    expect(bytes[999]).toBe(999 & 255);
    expect(frames).toEqual(['binary']);
  });

  it('pushes job progress then the result', async () => {
    const { client } = connect();
    // Steps slower than the progress interval (50 ms): every step is reported.
    const { jobId } = await client.call('work.count', { to: 3, stepMs: 60 });
    const events = await eventsUntilDone(client, jobId);
    expect(events.map((e) => e.kind)).toEqual(['progress', 'progress', 'progress', 'result']);
    expect(events[2]).toMatchObject({ kind: 'progress', progress: { stage: 'counting', done: 3, total: 3 } });
    expect(events[3]).toMatchObject({ kind: 'result', result: { counted: 3 } });
  });

  it('thins out rapid progress but always reports the end of a stage', async () => {
    const { client } = connect();
    const { jobId } = await client.call('work.count', { to: 300, stepMs: 0 });
    const events = await eventsUntilDone(client, jobId);
    const progress = events.filter((e) => e.kind === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThan(300);
    expect(progress.at(-1)).toMatchObject({ progress: { done: 300, total: 300 } });
  });

  it('cancels a running job: the job ends with a CANCELLED error event', async () => {
    const { client, server } = connect();
    const { jobId } = await client.call('work.count', { to: 1000, stepMs: 5 });
    const done = eventsUntilDone(client, jobId);
    await new Promise<void>((resolve) => {
      const off = client.onJobEvent((e) => {
        if (e.jobId === jobId && e.kind === 'progress') {
          off();
          resolve();
        }
      });
    });
    await client.call('job.cancel', { jobId });
    const events = await done;
    const last = events.at(-1)!;
    expect(last.kind).toBe('error');
    expect(last.kind === 'error' && last.error.code).toBe('CANCELLED');
    expect(events.length).toBeLessThan(1000);
    expect(server.jobs.activeJobIds).toEqual([]);
    // Cancelling a finished job is harmless.
    await expect(client.call('job.cancel', { jobId })).resolves.toBeNull();
  });

  it("keeps a job's own CANCELLED error (its message) instead of the generic one", async () => {
    const { client } = connect();
    const { jobId } = await client.call('work.careful', {});
    const done = eventsUntilDone(client, jobId);
    await new Promise<void>((resolve) => {
      const off = client.onJobEvent((e) => {
        if (e.jobId === jobId && e.kind === 'progress') {
          off();
          resolve();
        }
      });
    });
    await client.call('job.cancel', { jobId });
    const last = (await done).at(-1)!;
    expect(last.kind).toBe('error');
    if (last.kind !== 'error') return;
    expect(last.error.code).toBe('CANCELLED');
    expect(last.error.message).toMatch(/^Stopped after \d+ steps; they are kept\.$/);
    expect(last.error.details).toMatchObject({ done: expect.any(Number) });
  });

  it('pauses a pausable job between its steps and resumes it; other jobs refuse to pause', async () => {
    const { client } = connect();
    const events: JobEvent[] = [];
    client.onJobEvent((e) => events.push(e));
    const { jobId } = await client.call('work.pausable', {});
    await sleep(30);
    await client.call('job.pause', { jobId });
    await sleep(20);
    const doneAtPause = Math.max(...events.filter((e) => e.kind === 'progress').map((e) => (e.kind === 'progress' ? e.progress.done : 0)));
    await sleep(60);
    const doneLater = Math.max(...events.filter((e) => e.kind === 'progress').map((e) => (e.kind === 'progress' ? e.progress.done : 0)));
    expect(doneLater).toBe(doneAtPause);
    expect(events.some((e) => e.kind === 'progress' && e.progress.paused === true)).toBe(true);
    await client.call('job.resume', { jobId });
    await waitFor(() => events.some((e) => e.kind === 'result'));
    const last = events.at(-1)!;
    expect(last.kind === 'result' && last.result).toEqual({ steps: 30 });
    expect(events.some((e) => e.kind === 'progress' && e.progress.paused === false)).toBe(true);
    const other = await client.call('work.count', { to: 50, stepMs: 5 });
    await expect(client.call('job.pause', { jobId: other.jobId })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await client.call('job.cancel', { jobId: other.jobId });
  });

  it('cancels a paused job', async () => {
    const { client } = connect();
    const events: JobEvent[] = [];
    client.onJobEvent((e) => events.push(e));
    const { jobId } = await client.call('work.pausable', {});
    await client.call('job.pause', { jobId });
    await sleep(20);
    await client.call('job.cancel', { jobId });
    await waitFor(() => events.some((e) => e.kind === 'error'));
    expect(events.find((e) => e.kind === 'error')).toMatchObject({ error: { code: 'CANCELLED' } });
  });

  it('rejects pending and later calls with DISCONNECTED when the channel closes', async () => {
    const { client, clientSide } = connect();
    const { jobId } = await client.call('work.count', { to: 1, stepMs: 1 });
    expect(jobId).toMatch(/^count-/);
    const pending = client.call('math.add', { a: 1, b: 1 });
    clientSide.close();
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await expect(client.call('math.add', { a: 1, b: 1 })).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('tells disconnect listeners once with DISCONNECTED, and one added after the loss on the next turn', async () => {
    const { client, clientSide } = connect();
    const heard: string[] = [];
    client.onDisconnect((error) => heard.push(`early: ${error.code}`));
    const off = client.onDisconnect(() => heard.push('unsubscribed'));
    off();
    expect(await client.call('math.add', { a: 1, b: 2 })).toBe(3);
    expect(heard).toEqual([]);
    clientSide.close();
    expect(heard).toEqual(['early: DISCONNECTED']);
    client.onDisconnect((error) => heard.push(`late: ${error.code}`));
    await Promise.resolve();
    expect(heard).toEqual(['early: DISCONNECTED', 'late: DISCONNECTED']);
  });

  it('runs the validator before the handler', async () => {
    const [c, s] = memoryTransportPair();
    const server = new RpcServer<TestMethods>(handlers, {
      validate: (method, params) => {
        if (method === 'math.add' && typeof (params as { a: unknown }).a !== 'number') throw new SagaError('BAD_ARGUMENT', 'a must be a number');
      },
    });
    server.attach(s);
    const client = new RpcClient<TestMethods>(c);
    await expect(client.call('math.add', { a: 'x' as unknown as number, b: 1 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
