/**
 * How an RPC message carrying typed arrays travels: one binary frame, never numbers in JSON.
 * A message without typed arrays stays a JSON text frame (readable, and what the browser's
 * WebSocket path mostly sends). With typed arrays, every ArrayBufferView in the message is lifted
 * out of the JSON into an attachment and the frame is:
 *
 *   u32 magic 'SAGM' | u32 JSON length | JSON | zero padding to 8 | attachment 0 | pad | attachment 1 ...
 *
 * where the JSON holds the message with each typed array replaced by {"$saga:bin": [index, type,
 * offset, length]} (offset from the frame start, length in elements). Attachments are 8-byte aligned, so the
 * receiver can read them as views into the frame without copying. The same frames serve the
 * engine's MessagePort and the browser's WebSocket.
 * Imported by the renderer and preload too: no Node imports here.
 */
import type { Frame } from './transport.ts';

/** 'SAGM' read as a little-endian u32. */
const MAGIC = 0x4d474153;
const HEADER = 8;

const TYPES = {
  Float32Array,
  Float64Array,
  Uint8Array,
  Uint16Array,
  Uint32Array,
  Int8Array,
  Int16Array,
  Int32Array,
} as const;
type TypeName = keyof typeof TYPES;
type Typed = InstanceType<(typeof TYPES)[TypeName]>;

function typeName(v: ArrayBufferView): TypeName | undefined {
  const name = v.constructor.name;
  return name in TYPES ? (name as TypeName) : undefined;
}

const align8 = (n: number) => Math.ceil(n / 8) * 8;
/** The placeholder key: unusual enough that no API payload uses it as a field name. */
const KEY = '$saga:bin';
const placeholder = (i: number) => `{"${KEY}":${i}}`;

/** Encodes `message`: a text frame when it holds no typed arrays, else one binary frame. */
export function encodeFrame(message: unknown): Frame {
  const attachments: ArrayBufferView[] = [];
  const json = JSON.stringify(message, (_key, value: unknown) => {
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      if (typeName(value) === undefined) throw new TypeError(`cannot send a ${value.constructor.name}`);
      attachments.push(value);
      return { [KEY]: attachments.length - 1 };
    }
    return value;
  });
  if (attachments.length === 0) return json;
  const layout = attachments.map((a) => ({ type: typeName(a)!, length: a.byteLength / (a as Typed).BYTES_PER_ELEMENT, bytes: a.byteLength }));
  const describe = (offsets: readonly number[]) =>
    layout.reduce((text, l, i) => text.replace(placeholder(i), `{"${KEY}":[${i},"${l.type}",${offsets[i]},${l.length}]}`), json);
  // The offsets are part of the JSON and depend on its length: lay the attachments out after room
  // for the widest offsets (2^40), then write the real ones (never longer) and pad with spaces.
  const room = new TextEncoder().encode(describe(layout.map(() => 2 ** 40))).length;
  let at = align8(HEADER + room);
  const offsets = layout.map((l) => {
    const o = at;
    at = align8(at + l.bytes);
    return o;
  });
  const encoded = new TextEncoder().encode(describe(offsets));
  const frame = new Uint8Array(at);
  const view = new DataView(frame.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, encoded.length, true);
  frame.set(encoded, HEADER);
  frame.fill(0x20, HEADER + encoded.length, offsets[0]!);
  attachments.forEach((a, i) => frame.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offsets[i]!));
  return frame;
}

/** True when `bytes` starts like a binary message frame. */
export function isBinaryFrame(bytes: Uint8Array): boolean {
  return bytes.byteLength >= HEADER && new DataView(bytes.buffer, bytes.byteOffset, HEADER).getUint32(0, true) === MAGIC;
}

/**
 * Decodes a frame made by encodeFrame back into the message; typed arrays come back as views into
 * the frame (copies when the frame is not 8-byte aligned in its buffer). Returns undefined for a
 * frame that is not one of ours or is malformed (bad JSON, attachments outside the frame).
 */
export function decodeFrame(frame: Frame): unknown {
  if (typeof frame === 'string') {
    try {
      return JSON.parse(frame);
    } catch {
      // Not JSON: not ours. The caller reports it as a protocol error.
      return undefined;
    }
  }
  if (!isBinaryFrame(frame)) return undefined;
  const jsonLength = new DataView(frame.buffer, frame.byteOffset, HEADER).getUint32(4, true);
  if (HEADER + jsonLength > frame.byteLength) return undefined;
  const aligned = frame.byteOffset % 8 === 0;
  let bad = false;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(frame.subarray(HEADER, HEADER + jsonLength)), (_key, v: unknown) => {
      if (v === null || typeof v !== 'object' || !(KEY in v)) return v;
      const spec = (v as Record<string, unknown>)[KEY];
      if (!Array.isArray(spec) || spec.length !== 4) {
        bad = true;
        return null;
      }
      const [, type, offset, length] = spec as [number, string, number, number];
      const Type = Object.prototype.hasOwnProperty.call(TYPES, type) ? TYPES[type as TypeName] : undefined;
      if (!Type || !Number.isInteger(offset) || !Number.isInteger(length) || offset < HEADER + jsonLength || length < 0 || offset % Type.BYTES_PER_ELEMENT !== 0
        || offset + length * Type.BYTES_PER_ELEMENT > frame.byteLength) {
        bad = true;
        return null;
      }
      const bytes = length * Type.BYTES_PER_ELEMENT;
      if (aligned || Type.BYTES_PER_ELEMENT === 1) return new Type(frame.buffer as ArrayBuffer, frame.byteOffset + offset, length);
      return new Type(frame.slice(offset, offset + bytes).buffer, 0, length);
    });
  } catch {
    // Corrupt JSON inside a binary frame: not ours.
    return undefined;
  }
  return bad ? undefined : value;
}
