/**
 * Which IPC messages main accepts: the MessagePort a window's preload sends on PORT_CHANNEL is
 * taken only from one of our own windows (the sender's webContents is one main created) and only
 * from its top frame showing our page (app://saga/...), never from a subframe, a page navigated
 * elsewhere, or another webContents. Pure: the Electron types are described by their shape, so it
 * is tested without Electron.
 */
import { APP_ORIGIN } from './app-url.ts';

export interface IpcSenderFrame {
  url: string;
  /** The frame's parent; null for a top-level frame. */
  parent: unknown;
}

export interface PortMessage<Port, Contents> {
  sender: Contents;
  senderFrame: IpcSenderFrame | null;
  ports: readonly Port[];
}

/** Why a port message was refused, or undefined when it comes from a trusted window. */
export function refusePortMessage<Port, Contents>(event: PortMessage<Port, Contents>, trusted: readonly Contents[]): string | undefined {
  if (!trusted.includes(event.sender)) return 'the sender is not one of the app windows';
  const frame = event.senderFrame;
  if (!frame) return 'the sending frame is gone';
  if (frame.parent !== null) return 'the sender is a subframe';
  if (!frame.url.startsWith(`${APP_ORIGIN}/`)) return `the sending page is ${frame.url || 'blank'}, not the app`;
  if (event.ports.length !== 1) return `expected one port, got ${event.ports.length}`;
  return undefined;
}
