/**
 * How the renderer reaches the backend: in Electron, preload has put the API on window.saga; in
 * browser mode we open the WebSocket the page's host serves, beside the page (under its token).
 * Nothing else in the renderer knows which host it runs in.
 */
import type { ApiMethods, SagaApi } from '../../../main/contract/api.ts';
import { RpcClient } from '../../../main/contract/rpc.ts';
import { browserModeSocketUrl, connectWebSocket } from '../../../main/contract/transports/websocket.ts';

declare global {
  interface Window {
    saga?: SagaApi;
  }
}

export async function connectApi(win: Window): Promise<SagaApi> {
  if (win.saga) return win.saga;
  const transport = await connectWebSocket(browserModeSocketUrl(win.location.href));
  return new RpcClient<ApiMethods>(transport);
}

/**
 * A scene URL from the backend made absolute against the page, so the viewer's workers (which
 * run from blob: URLs) can fetch it.
 */
export function absoluteUrl(url: string, base: string): string {
  return new URL(url, base).href;
}
