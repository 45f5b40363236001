/**
 * The backend as its own process (Electron's utility process; a worker thread in tests): project
 * store, scene IO, ONNX, training and the WebAssembly kernels run here, off the thread that draws
 * menus and windows. Main talks to it over MessagePorts with the contract's RPC:
 *  - one port per window: the window's API (ApiMethods), the same server for every window;
 *  - a control port: what main itself asks of the backend (BackendControlMethods: blob bytes for
 *    app://, the recent projects for the menu, what to open on the next load), and notices back
 *    ('recent-changed' for the menu);
 *  - a services port: what only main can do, asked by the backend (MainServiceMethods: the native
 *    open dialog behind 'dialog.openPath').
 * No Electron import: the parent is described by its shape.
 */
import type { ApiMethods, InitialOpen, RecentProject } from '../contract/api.ts';
import { SagaError } from '../contract/errors.ts';
import { RpcClient, RpcServer } from '../contract/rpc.ts';
import { messagePortTransport, type MessagePortLike } from '../contract/transports/message-port.ts';
import { blobBytes, classifyOpenPath, createBackend, createBackendServer } from './backend.ts';

export type OpenDialogKind = ApiMethods['dialog.openPath']['params']['kind'];

/** Asked by main of the backend, on the control port. */
export interface BackendControlMethods {
  'control.blob': { params: { id: string }; result: Uint8Array | null };
  'control.recent': { params: Record<string, never>; result: RecentProject[] };
  'control.setInitialOpen': { params: { open: InitialOpen } | { path: string }; result: null };
}

/** Asked by the backend of main, on the services port. */
export interface MainServiceMethods {
  'dialog.openPath': { params: { kind: OpenDialogKind }; result: string | null };
}

/** What main sends to start the backend (with the control and services ports). */
export interface BackendStart {
  type: 'start';
  host: 'electron';
  userDataDir: string;
  blobUrlPrefix: string;
  /** A scene, capture folder or project given on the command line. */
  openPath?: string;
}

/** A message from main: its data and the ports it carries. */
export interface ParentMessage {
  data: unknown;
  ports: readonly MessagePortLike[];
}

/** Electron's process.parentPort, or a stand-in (tests). */
export interface ParentPortLike {
  on(event: 'message', listener: (message: ParentMessage) => void): unknown;
}

/**
 * Serves the backend to the ports `parent` sends: first { type: 'start' } with [control, services],
 * then { type: 'window' } with one port per window (a reloaded window sends a new one).
 */
export function runBackendProcess(parent: ParentPortLike, log: (m: string) => void = (m) => console.error(m)): void {
  let windows: RpcServer<ApiMethods> | undefined;
  parent.on('message', ({ data, ports }) => {
    const type = typeof data === 'object' && data !== null ? (data as { type?: unknown }).type : undefined;
    if (type === 'start' && !windows && ports.length === 2) {
      windows = start(data as BackendStart, ports[0]!, ports[1]!);
    } else if (type === 'window' && windows && ports.length === 1) {
      windows.attach(messagePortTransport(ports[0]!));
    } else {
      log(`backend process: ignored a message from main (${String(type)} with ${ports.length} port(s))`);
    }
  });
}

function start(options: BackendStart, controlPort: MessagePortLike, servicesPort: MessagePortLike): RpcServer<ApiMethods> {
  const services = new RpcClient<MainServiceMethods>(messagePortTransport(servicesPort));
  let control: RpcServer<BackendControlMethods> | undefined;
  const backend = createBackend({
    host: options.host,
    userDataDir: options.userDataDir,
    blobUrl: (id) => `${options.blobUrlPrefix}${encodeURIComponent(id)}`,
    openDialog: (kind) => services.call('dialog.openPath', { kind }),
    ...(options.openPath ? { initialOpen: classifyOpenPath(options.openPath) } : {}),
    onRecentChanged: () => control?.notify({ kind: 'recent-changed' }),
  });
  const windows = createBackendServer(backend);
  const ctx = { jobs: windows.jobs };
  control = new RpcServer<BackendControlMethods>({
    'control.blob': async ({ id }) => {
      const found = backend.blob(id);
      return found ? blobBytes(found) : null;
    },
    'control.recent': async () => backend.handlers['project.recent']({}, ctx),
    'control.setInitialOpen': async (params) => {
      if ('open' in params) backend.setInitialOpen(params.open);
      else if (typeof params.path === 'string') backend.setInitialOpen(classifyOpenPath(params.path));
      else throw new SagaError('BAD_ARGUMENT', 'control.setInitialOpen needs an open or a path.');
      return null;
    },
  });
  const controlTransport = messagePortTransport(controlPort);
  control.attach(controlTransport);
  // Main closing the control port is the end of the app: stop jobs, close the project.
  controlTransport.onClose(() => {
    windows.close();
    backend.close();
    services.close();
  });
  return windows;
}
