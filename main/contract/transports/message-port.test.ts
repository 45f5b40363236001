import { MessageChannel, Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { ApiMethods } from '../api.ts';
import { SagaError } from '../errors.ts';
import { RpcClient, RpcServer, type Handlers } from '../rpc.ts';
import { messagePortTransport, type MessagePortLike } from './message-port.ts';

interface PortMethods {
  echo: { params: { text: string }; result: string };
  bytes: { params: { n: number }; result: Uint8Array };
  fail: { params: Record<string, never>; result: null };
}

const handlers: Handlers<PortMethods> = {
  echo: ({ text }) => text.toUpperCase(),
  bytes: ({ n }) => new Uint8Array(n).fill(42),
  fail: () => {
    throw new SagaError('PROJECT_CORRUPT', 'The project database is damaged.');
  },
};

describe('MessagePort transport over node:worker_threads MessageChannel', () => {
  it('carries calls, binary results and typed errors', async () => {
    const { port1, port2 } = new MessageChannel();
    new RpcServer<PortMethods>(handlers).attach(messagePortTransport(port2));
    const client = new RpcClient<PortMethods>(messagePortTransport(port1));
    expect(await client.call('echo', { text: 'splat' })).toBe('SPLAT');
    const bytes = await client.call('bytes', { n: 4096 });
    expect(bytes.length).toBe(4096);
    expect(bytes.every((b) => b === 42)).toBe(true);
    await expect(client.call('fail', {})).rejects.toMatchObject({ code: 'PROJECT_CORRUPT' });
    client.close();
  });

  it('unwraps Electron-style message events ({ data }) as well as plain values', async () => {
    const { port1, port2 } = new MessageChannel();
    new RpcServer<PortMethods>(handlers).attach(messagePortTransport(port2));
    // Electron's MessagePortMain emits { data, ports } events; wrap a Node port to look like it.
    const electronLike: MessagePortLike = {
      postMessage: (m) => port1.postMessage(m),
      start: () => port1.start(),
      close: () => port1.close(),
      on: (event, listener) => port1.on(event, event === 'message' ? (value: unknown) => listener({ data: value, ports: [] }) : listener),
    };
    const client = new RpcClient<PortMethods>(messagePortTransport(electronLike));
    expect(await client.call('echo', { text: 'electron' })).toBe('ELECTRON');
    client.close();
  });

  it('talks to a server in another thread and sees it disconnect', async () => {
    // The backend-in-a-worker shape: the worker hosts an RpcServer on a transferred port.
    const source = `
      const { parentPort } = require('node:worker_threads');
      parentPort.once('message', ({ port }) => {
        port.on('message', (text) => {
          const req = JSON.parse(text);
          port.postMessage(JSON.stringify({ type: 'response', id: req.id, ok: true, result: { version: 'worker', host: 'memory' } }));
          setTimeout(() => port.close(), 10);
        });
      });`;
    const worker = new Worker(source, { eval: true });
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ port: port2 }, [port2]);
    const transport = messagePortTransport(port1);
    const closed = new Promise<string>((resolve) => transport.onClose(resolve));
    const client = new RpcClient<ApiMethods>(transport);
    expect(await client.call('app.info', {})).toEqual({ version: 'worker', host: 'memory' });
    expect(await closed).toContain('closed');
    await expect(client.call('app.info', {})).rejects.toMatchObject({ code: 'DISCONNECTED' });
    await worker.terminate();
  });
});
