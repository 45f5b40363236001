/**
 * The Electron main wiring minus Electron: startBackend drives the real backend in its own thread
 * (standing in for the utility process: the same messages, ports and RPC), reached over real
 * MessageChannels (node:worker_threads ports have the `on('message')` shape of MessagePortMain).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from '../common/start-worker.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiMethods } from '../contract/api.ts';
import { RpcClient } from '../contract/rpc.ts';
import { messagePortTransport } from '../contract/transports/message-port.ts';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { APP_ORIGIN } from './app-url.ts';
import { startBackend, type BackendLink } from './backend-link.ts';
import { createAppProtocolHandler } from './protocol.ts';

describe('Electron backend link', () => {
  let userDataDir: string;
  let link: BackendLink<MessagePort>;
  let worker: Worker;
  let client: RpcClient<ApiMethods>;
  const dialogs: string[] = [];

  beforeAll(() => {
    userDataDir = mkdtempSync(join(tmpdir(), 'saga-electron-user-'));
    worker = startWorker(new URL('../host/testing/backend-process-thread.ts', import.meta.url));
    link = startBackend({
      userDataDir,
      openDialog: async (kind) => {
        dialogs.push(kind);
        return null;
      },
      openPath: sharedScene(SCENES.guitar),
    }, {
      postMessage: (message, ports) => worker.postMessage({ data: message, ports }, ports),
      kill: () => worker.terminate(),
      on: (event, listener) => worker.on(event, listener),
    }, () => new MessageChannel());
    const { port1, port2 } = new MessageChannel();
    // Structurally the same as Electron's MessagePortMain for what the transport uses.
    link.attach(port2);
    client = new RpcClient<ApiMethods>(messagePortTransport(port1));
  });

  afterAll(async () => {
    client?.close();
    link?.close();
    await worker?.terminate();
    rmSync(userDataDir, { recursive: true, force: true });
  });

  it('answers as the electron host and passes on the command-line scene', async () => {
    const info = await client.call('app.info', {});
    expect(info.host).toBe('electron');
    expect(info.initialOpen).toEqual({ kind: 'scene', path: sharedScene(SCENES.guitar) });
  });

  it('opens a scene whose bytes the app:// handler serves', async () => {
    const opened = await client.call('scene.open', { path: sharedScene(SCENES.guitar) });
    expect(opened.summary.count).toBe(90854);
    expect(opened.url.startsWith(`${APP_ORIGIN}/blob/`)).toBe(true);
    const handle = createAppProtocolHandler(join(userDataDir, 'no-renderer'), (id) => link.blob(id));
    const res = await handle(new Request(opened.url));
    expect(res.status).toBe(200);
    const head = new TextDecoder().decode(new Uint8Array(await res.arrayBuffer()).subarray(0, 200));
    expect(head).toMatch(/^ply\n/);
    expect(head).toContain('element vertex 90854');
  });

  it('uses the injected native dialog and keeps the recent list', async () => {
    expect(await client.call('dialog.openPath', { kind: 'folder' })).toBeNull();
    expect(dialogs).toEqual(['folder']);
    expect(await link.recent()).toEqual([]);
    const changed = new Promise<void>((resolve) => link.onRecentChanged(resolve));
    const dir = join(userDataDir, 'guitar-project');
    const created = await client.call('project.create', { dir, source: sharedScene(SCENES.guitar) });
    await changed;
    expect((await link.recent()).map((r) => r.dir)).toContain(created.project.dir);
  });
});
