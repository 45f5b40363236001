/**
 * The IPC sender check main applies to the port a window's preload sends: only our window's top
 * frame on app://saga/ with exactly one port is served; every other sender is refused with a reason.
 */
import { describe, expect, it } from 'vitest';
import { refusePortMessage } from './ipc-guard.ts';

const editor = { id: 1 };
const stranger = { id: 2 };
const port = { port: 'p' };
const top = (url: string) => ({ url, parent: null });

describe('refusePortMessage', () => {
  it('accepts the editor window top frame on the app origin with one port', () => {
    expect(refusePortMessage({ sender: editor, senderFrame: top('app://saga/index.html'), ports: [port] }, [editor])).toBeUndefined();
  });

  it('refuses other webContents, subframes, foreign or blank pages, a gone frame and wrong port counts', () => {
    const cases = [
      [{ sender: stranger, senderFrame: top('app://saga/index.html'), ports: [port] }, /not one of the app windows/],
      [{ sender: editor, senderFrame: { url: 'app://saga/index.html', parent: {} }, ports: [port] }, /subframe/],
      [{ sender: editor, senderFrame: top('https://example.com/'), ports: [port] }, /example\.com/],
      // A look-alike origin: app://saga.evil/ is not app://saga/.
      [{ sender: editor, senderFrame: top('app://saga.evil/index.html'), ports: [port] }, /not the app/],
      [{ sender: editor, senderFrame: top(''), ports: [port] }, /blank/],
      [{ sender: editor, senderFrame: null, ports: [port] }, /gone/],
      [{ sender: editor, senderFrame: top('app://saga/index.html'), ports: [] }, /one port, got 0/],
      [{ sender: editor, senderFrame: top('app://saga/index.html'), ports: [port, port] }, /one port, got 2/],
    ] as const;
    for (const [event, reason] of cases) expect(refusePortMessage(event, [editor])).toMatch(reason);
    expect(refusePortMessage({ sender: editor, senderFrame: top('app://saga/index.html'), ports: [port] }, [])).toMatch(/not one of/);
  });
});
