/**
 * Preload (sandboxed, context-isolated): opens a MessagePort to main and exposes the typed API as
 * window.saga, nothing else. The page never sees ipcRenderer, Node, or the raw port.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { API_METHOD_NAMES, type ApiMethod, type ApiMethods, type ApiParams, type ApiResult, type HostNotice, type JobEvent, type SagaApi } from '../main/contract/api.ts';
import { SagaError, type SagaErrorData } from '../main/contract/errors.ts';
import { RpcClient } from '../main/contract/rpc.ts';
import { messagePortTransport, type MessagePortLike } from '../main/contract/transports/message-port.ts';
import { DROPPED_PATH_KEY, PORT_CHANNEL } from '../main/app/channels.ts';

// The channel is created here, not in main, so window.saga works from the first line of the page:
// messages queue in the port until main starts listening.
const { port1, port2 } = new MessageChannel();
ipcRenderer.postMessage(PORT_CHANNEL, null, [port2]);
// The DOM port speaks in events; the transport takes the Node-style `on(event, listener)` shape.
const port: MessagePortLike = {
  postMessage: (m) => port1.postMessage(m),
  start: () => port1.start(),
  close: () => port1.close(),
  on: (event, listener) => port1.addEventListener(event, (ev) => listener(ev)),
};
const client = new RpcClient<ApiMethods>(messagePortTransport(port));
const known = new Set<string>(API_METHOD_NAMES);

const saga: SagaApi = {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
    // The page is untrusted input to this bridge: refuse what the contract does not name.
    if (typeof method !== 'string' || !known.has(method)) {
      return Promise.reject(new SagaError('BAD_ARGUMENT', `Unknown request '${String(method)}'.`).toJSON());
    }
    // contextBridge copies an Error's message but drops its code: reject with the plain data instead.
    return client.call(method, params).catch((e: unknown) => {
      throw e instanceof SagaError ? e.toJSON() : { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
    });
  },
  onJobEvent(listener: (event: JobEvent) => void): () => void {
    return client.onJobEvent(listener);
  },
  onDisconnect(listener: (error: SagaErrorData) => void): () => void {
    return client.onDisconnect(listener);
  },
  onNotice(listener: (notice: HostNotice) => void): () => void {
    return client.onNotice(listener);
  },
};

contextBridge.exposeInMainWorld('saga', saga);

// Dropped Files carry no path in Electron, and the page must not hold webUtils itself. Before the
// page's own drop handler runs (capture phase, registered first), note the dropped file's path on
// the document, where renderer/src/components/ViewportPane.svelte reads it once.
window.addEventListener(
  'drop',
  (e) => {
    const file = e.dataTransfer?.files[0];
    if (file) document.documentElement.dataset[DROPPED_PATH_KEY] = webUtils.getPathForFile(file);
  },
  true,
);
