/**
 * Browser entry for e2e/engine-window.test.ts: the engine window's code (renderer/engine/
 * engine-host.ts) in headless Chromium, its port bridged to the test through two functions (the
 * page calls sagaEngineSend, the test calls sagaEngineDeliver), shaders fetched from the test
 * server. Binary frames cross as base64.
 */
import type { MessagePortLike } from '../../main/contract/transports/message-port.ts';
import { serveEngineInPage } from '../../renderer/engine/engine-host.ts';

type Wire = { text: string } | { base64: string };
type Bridge = { sagaEngineSend(frame: Wire): Promise<void>; sagaEngineDeliver?: (frame: Wire) => void; sagaEngineReady?: boolean };
const bridge = globalThis as unknown as Bridge;

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

let onMessage: ((value: unknown) => void) | undefined;
const port: MessagePortLike = {
  postMessage: (m) => void bridge.sagaEngineSend(typeof m === 'string' ? { text: m } : { base64: toBase64(m as Uint8Array) }),
  close: () => {},
  on: (event, listener) => {
    if (event === 'message') onMessage = listener;
  },
};
bridge.sagaEngineDeliver = (frame) => onMessage?.('text' in frame ? frame.text : fromBase64(frame.base64));
serveEngineInPage(port, async (name) => {
  const response = await fetch(`/native-shaders/${name}`);
  if (!response.ok) throw new Error(`shader ${name}: HTTP ${response.status}`);
  return response.text();
});
bridge.sagaEngineReady = true;
