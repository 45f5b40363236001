/**
 * The one place Electron main touches the backend: it builds the request handlers
 * (main/host/backend.ts), serves them over each window's MessagePort, and answers app:// blob
 * requests from the same backend. Kept apart from index.ts so the wiring has a single seam.
 */
import type { MessagePortMain } from 'electron';
import type { ApiMethods, InitialOpen, RecentProject } from '../contract/api.ts';
import { RpcServer } from '../contract/rpc.ts';
import { messagePortTransport } from '../contract/transports/message-port.ts';
import { validateRequest } from '../contract/validate.ts';
import { blobBytes, classifyOpenPath, createBackend } from '../host/backend.ts';
import { blobUrl } from './app-url.ts';

export interface BackendLinkOptions {
  /** Electron's app.getPath('userData'): where the recent-projects list lives. */
  userDataDir: string;
  openDialog(kind: 'scene' | 'project' | 'folder'): Promise<string | null>;
  /** A scene file, capture folder or project given on the command line. */
  openPath?: string;
}

export interface BackendLink {
  attach(port: MessagePortMain): void;
  /** Bytes behind app://saga/blob/<id>, or undefined when the id is unknown. */
  blob(id: string): Promise<Uint8Array | undefined>;
  recent(): Promise<RecentProject[]>;
  onRecentChanged(listener: () => void): void;
  setInitialOpen(open: InitialOpen): void;
  /** The same, from a path as given on a command line. */
  setInitialPath(path: string): void;
  close(): void;
}

export function startBackend(options: BackendLinkOptions): BackendLink {
  const recentListeners: (() => void)[] = [];
  const backend = createBackend({
    host: 'electron',
    userDataDir: options.userDataDir,
    blobUrl,
    openDialog: options.openDialog,
    ...(options.openPath ? { initialOpen: classifyOpenPath(options.openPath) } : {}),
    onRecentChanged: () => {
      for (const l of recentListeners) l();
    },
  });
  const server = new RpcServer<ApiMethods>(backend.handlers, { validate: validateRequest });
  const ctx = { jobs: server.jobs };
  return {
    attach(port) {
      server.attach(messagePortTransport(port));
    },
    async blob(id) {
      const found = backend.blob(id);
      return found ? blobBytes(found) : undefined;
    },
    async recent() {
      return backend.handlers['project.recent']({}, ctx);
    },
    onRecentChanged(listener) {
      recentListeners.push(listener);
    },
    setInitialOpen(open) {
      backend.setInitialOpen(open);
    },
    setInitialPath(path) {
      backend.setInitialOpen(classifyOpenPath(path));
    },
    close() {
      server.close();
      backend.close();
    },
  };
}
