/**
 * The per-Gaussian display state the viewport draws from, as one binary frame ('edit.display').
 * Per Gaussian: a display byte (the DISPLAY_* bits below) and its layer id (0 = none; the colour
 * comes from the layer list). The backend works the bits out (a Gaussian is shown when it is not
 * deleted, not hidden and its layer is visible), so the viewport only maps them to colour and alpha.
 *
 * A frame is either the whole state or the Gaussians that changed since a version the viewport
 * already has: after an edit it fetches `{ since: <its version> }` and updates those splats only.
 *
 * Layout, little endian, 24-byte header then arrays each starting 4-byte aligned:
 *   u32 magic 'SGDS', u8 format (1), u8 kind (0 whole, 1 changes), u16 0, u32 count (Gaussians in
 *   the scene), u32 version, u32 entries (count for a whole frame), u32 0;
 *   whole:   u16 layer[count], u8 display[count]
 *   changes: u32 index[entries] (ascending), u16 layer[entries], u8 display[entries]
 * Imported by the renderer too: no Node imports here.
 */
import { SagaError } from './errors.ts';

/** The Gaussian is drawn: not deleted, not hidden, and its layer (or the unassigned ones) visible. */
export const DISPLAY_SHOWN = 1;
/** The Gaussian is in the current selection. */
export const DISPLAY_SELECTED = 2;
/** Its layer is locked: it cannot be selected or edited. */
export const DISPLAY_LOCKED = 4;
/** Deleted (kept for undo, never drawn or saved). */
export const DISPLAY_DELETED = 8;

export interface DisplayFrame {
  kind: 'whole' | 'changes';
  /** Gaussians in the scene. */
  count: number;
  /** The state version this frame brings the viewport to. */
  version: number;
  /** With 'changes': which Gaussians the arrays below are for (ascending). Absent for 'whole'. */
  indices?: Uint32Array;
  layers: Uint16Array;
  display: Uint8Array;
}

const MAGIC = 0x53445347; // 'SGDS' little endian
const FORMAT = 1;
const HEADER = 24;

const align4 = (n: number) => (n + 3) & ~3;

export function encodeDisplayFrame(frame: DisplayFrame): Uint8Array {
  const entries = frame.kind === 'whole' ? frame.count : frame.indices!.length;
  if (frame.layers.length !== entries || frame.display.length !== entries) throw new SagaError('INTERNAL', 'A display frame was built with arrays of different lengths.');
  const indexBytes = frame.kind === 'changes' ? entries * 4 : 0;
  const layerAt = HEADER + indexBytes;
  const displayAt = layerAt + align4(entries * 2);
  const out = new Uint8Array(displayAt + entries);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint8(4, FORMAT);
  view.setUint8(5, frame.kind === 'whole' ? 0 : 1);
  view.setUint32(8, frame.count, true);
  view.setUint32(12, frame.version, true);
  view.setUint32(16, entries, true);
  // Typed-array copies are native order; the frame is little endian like every host we run on.
  if (frame.indices) new Uint32Array(out.buffer, HEADER, entries).set(frame.indices);
  new Uint16Array(out.buffer, layerAt, entries).set(frame.layers);
  out.set(frame.display, displayAt);
  return out;
}

/** Decodes a frame; the arrays view a copy of the bytes when they were not 4-byte aligned. */
export function decodeDisplayFrame(bytes: Uint8Array): DisplayFrame {
  const bad = (why: string) => new SagaError('INTERNAL', `The display state from the backend cannot be read (${why}). Reload the page or restart the app.`);
  if (bytes.byteLength < HEADER) throw bad('too short');
  const b = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getUint32(0, true) !== MAGIC || view.getUint8(4) !== FORMAT) throw bad('unknown format');
  const kind = view.getUint8(5) === 0 ? 'whole' : 'changes';
  const count = view.getUint32(8, true);
  const version = view.getUint32(12, true);
  const entries = view.getUint32(16, true);
  const indexBytes = kind === 'changes' ? entries * 4 : 0;
  const layerAt = HEADER + indexBytes;
  const displayAt = layerAt + align4(entries * 2);
  if (b.byteLength !== displayAt + entries || (kind === 'whole' && entries !== count)) throw bad('wrong length');
  return {
    kind,
    count,
    version,
    ...(kind === 'changes' ? { indices: new Uint32Array(b.buffer, b.byteOffset + HEADER, entries) } : {}),
    layers: new Uint16Array(b.buffer, b.byteOffset + layerAt, entries),
    display: new Uint8Array(b.buffer, b.byteOffset + displayAt, entries),
  };
}
