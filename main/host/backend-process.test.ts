/**
 * The backend as its own process, talking MessagePorts with the contract's RPC (in Electron a
 * utility process; here a worker thread with the same messages): windows get the API, main gets
 * blob bytes, the recent list and its change notice on the control port, and 'dialog.openPath'
 * is answered by main's own service, not by the backend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../common/start-worker.ts';
import type { ApiMethods, HostNotice } from '../contract/api.ts';
import { RpcClient, RpcServer } from '../contract/rpc.ts';
import { messagePortTransport } from '../contract/transports/message-port.ts';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import type { BackendControlMethods, BackendStart, MainServiceMethods } from './backend-process.ts';

let root: string;
let worker: Worker;
let control: RpcClient<BackendControlMethods>;
const dialogs: string[] = [];
const notices: HostNotice[] = [];

function windowClient(): RpcClient<ApiMethods> {
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ data: { type: 'window' }, ports: [port2] }, [port2]);
  return new RpcClient<ApiMethods>(messagePortTransport(port1));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'saga-backend-process-'));
  worker = startWorker(new URL('./testing/backend-process-thread.ts', import.meta.url));
  const c = new MessageChannel();
  const s = new MessageChannel();
  const start: BackendStart = { type: 'start', host: 'electron', userDataDir: join(root, 'user'), blobUrlPrefix: 'app://saga/blob/' };
  worker.postMessage({ data: start, ports: [c.port2, s.port2] }, [c.port2, s.port2]);
  control = new RpcClient<BackendControlMethods>(messagePortTransport(c.port1));
  control.onNotice((n) => notices.push(n));
  new RpcServer<MainServiceMethods>({
    'dialog.openPath': async ({ kind }) => {
      dialogs.push(kind);
      return kind === 'project' ? join(root, 'chosen') : null;
    },
  }).attach(messagePortTransport(s.port1));
});

afterAll(async () => {
  control?.close();
  await worker?.terminate();
  rmSync(root, { recursive: true, force: true });
});

describe('backend process', () => {
  it('serves windows the API, main the blobs and recents, and asks main for dialogs', async () => {
    const win = windowClient();
    expect(await win.call('app.info', {})).toMatchObject({ host: 'electron' });
    // The dialog is main's service: the backend forwards the window's request.
    expect(await win.call('dialog.openPath', { kind: 'project' })).toBe(join(root, 'chosen'));
    expect(await win.call('dialog.openPath', { kind: 'scene' })).toBeNull();
    expect(dialogs).toEqual(['project', 'scene']);

    const dir = join(root, 'project');
    const created = await win.call('project.create', { dir, source: sharedScene(SCENES.inria) });
    expect(created.scene.url).toMatch(/^app:\/\/saga\/blob\//);
    const id = decodeURIComponent(created.scene.url.slice('app://saga/blob/'.length));
    const bytes = await control.call('control.blob', { id });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(bytes!.subarray(0, 3))).toBe('ply');
    expect(await control.call('control.blob', { id: 'nope' })).toBeNull();
    // The menu hears that the recent list changed, and reads it.
    const deadline = Date.now() + 5000;
    while (!notices.some((n) => n.kind === 'recent-changed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(notices).toContainEqual({ kind: 'recent-changed' });
    expect((await control.call('control.recent', {})).map((p) => p.dir)).toContain(dir);

    // A second window (or a reloaded one) reaches the same backend: the same open project.
    await win.call('edit.invertSelection', {});
    const other = windowClient();
    expect(await other.call('edit.state', {})).toMatchObject({ selected: created.project.scene.count });
    // What to open on the next load, set by main (Open Recent, a second instance's argv).
    await control.call('control.setInitialOpen', { path: dir });
    expect((await other.call('app.info', {})).initialOpen).toEqual({ kind: 'project', path: dir });
    win.close();
    other.close();
  });
});
