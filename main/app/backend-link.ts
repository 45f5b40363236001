/**
 * The one place Electron main touches the backend, which runs in its own process (Electron's
 * utility process; see main/host/backend-process.ts): main starts it, hands it each window's
 * MessagePort, asks it for app:// blob bytes and the recent projects over a control port, and
 * answers its 'dialog.openPath' requests with the native dialog over a services port. Nothing here
 * reads a scene or the project store, so the menus never wait on them. No Electron import: the
 * process and its ports are injected (index.ts passes utilityProcess and MessageChannelMain).
 */
import type { InitialOpen, RecentProject } from '../contract/api.ts';
import { RpcClient, RpcServer } from '../contract/rpc.ts';
import { messagePortTransport, type MessagePortLike } from '../contract/transports/message-port.ts';
import type { BackendControlMethods, BackendStart, MainServiceMethods, OpenDialogKind } from '../host/backend-process.ts';
import { APP_ORIGIN } from './app-url.ts';

export interface BackendLinkOptions {
  /** Electron's app.getPath('userData'): where the recent-projects list lives. */
  userDataDir: string;
  openDialog(kind: OpenDialogKind): Promise<string | null>;
  /** A scene file, capture folder or project given on the command line. */
  openPath?: string;
}

/** The started backend process as main sees it (Electron's UtilityProcess). */
export interface BackendProcess<Port> {
  postMessage(message: unknown, ports: Port[]): void;
  kill(): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
}

/** How main makes a pair of connected ports (Electron's MessageChannelMain). */
export type PortPair<Port> = () => { port1: Port & MessagePortLike; port2: Port };

export interface BackendLink<Port> {
  attach(port: Port): void;
  /** Bytes behind app://saga/blob/<id>, or undefined when the id is unknown. */
  blob(id: string): Promise<Uint8Array | undefined>;
  recent(): Promise<RecentProject[]>;
  onRecentChanged(listener: () => void): void;
  setInitialOpen(open: InitialOpen): void;
  /** The same, from a path as given on a command line. */
  setInitialPath(path: string): void;
  /** Called if the backend process ends while the app runs (it is not restarted). */
  onExit(listener: (code: number) => void): void;
  close(): void;
}

export function startBackend<Port>(options: BackendLinkOptions, child: BackendProcess<Port>, channel: PortPair<Port>): BackendLink<Port> {
  const control = channel();
  const services = channel();
  const start: BackendStart = {
    type: 'start',
    host: 'electron',
    userDataDir: options.userDataDir,
    blobUrlPrefix: `${APP_ORIGIN}/blob/`,
    ...(options.openPath ? { openPath: options.openPath } : {}),
  };
  child.postMessage(start, [control.port2, services.port2]);
  const client = new RpcClient<BackendControlMethods>(messagePortTransport(control.port1));
  const dialogs = new RpcServer<MainServiceMethods>({ 'dialog.openPath': ({ kind }) => options.openDialog(kind) });
  dialogs.attach(messagePortTransport(services.port1));
  const recentListeners: (() => void)[] = [];
  client.onNotice((notice) => {
    if (notice.kind === 'recent-changed') for (const l of recentListeners) l();
  });
  let closing = false;
  const report = (what: string) => (e: unknown) => console.error(`saga-studio: ${what}:`, e);
  return {
    attach(port) {
      child.postMessage({ type: 'window' }, [port]);
    },
    async blob(id) {
      return (await client.call('control.blob', { id })) ?? undefined;
    },
    recent() {
      return client.call('control.recent', {});
    },
    onRecentChanged(listener) {
      recentListeners.push(listener);
    },
    setInitialOpen(open) {
      void client.call('control.setInitialOpen', { open }).catch(report('could not set what to open'));
    },
    setInitialPath(path) {
      void client.call('control.setInitialOpen', { path }).catch(report('could not set what to open'));
    },
    onExit(listener) {
      child.on('exit', (code) => {
        if (!closing) listener(code);
      });
    },
    close() {
      closing = true;
      // Closing the control port tells the backend to stop its jobs and close the project.
      client.close();
      dialogs.close();
      setTimeout(() => child.kill(), 2000).unref?.();
    },
  };
}
