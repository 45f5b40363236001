/**
 * A small self-checking file of named typed arrays plus JSON metadata: training checkpoints (trained
 * features, the projection MLP, Adam moments, the random state) are written in it.
 *
 * Layout (little-endian):
 *   0   8 bytes  magic 'SAGATNSR'
 *   8   u32      format version (1)
 *   12  u32      header length H in bytes
 *   16  H bytes  header JSON: { meta, arrays: [{ name, dtype, length, offset, crc32 }] }
 *   ... arrays, at 16-byte aligned offsets counted from the end of the header
 * Every array carries the CRC-32 of its bytes, so a torn or damaged file is recognised (and the
 * caller falls back to an older checkpoint) instead of being read as garbage. Files are written to
 * a temporary name and renamed, so a reader only ever sees a whole file or the previous one.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { SagaError } from '../contract/errors.ts';
import { writeAll, writeFileAtomic } from './atomic-write.ts';

const MAGIC = 'SAGATNSR';
const VERSION = 1;
const PREFIX = 16;

export type TensorArray = Float32Array | Uint32Array | Int32Array | Uint8Array;

const DTYPES = {
  f32: Float32Array,
  u32: Uint32Array,
  i32: Int32Array,
  u8: Uint8Array,
} as const;
type Dtype = keyof typeof DTYPES;

interface ArrayEntry {
  name: string;
  dtype: Dtype;
  length: number;
  offset: number;
  crc32: number;
}

interface Header {
  meta: unknown;
  arrays: ArrayEntry[];
}

function dtypeOf(a: TensorArray): Dtype {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Int32Array) return 'i32';
  return 'u8';
}

function bytesOf(a: TensorArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const align16 = (n: number) => Math.ceil(n / 16) * 16;

/** Writes `arrays` and `meta` atomically to `path` (see the file header for the layout). */
export async function writeTensorFile(path: string, meta: unknown, arrays: Record<string, TensorArray>): Promise<void> {
  // Array offsets are relative to the end of the header, so the header can be encoded once.
  const entries: ArrayEntry[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    entries.push({ name, dtype: dtypeOf(a), length: a.length, offset, crc32: crc32(bytesOf(a)) });
    offset = align16(offset + a.byteLength);
  }
  const json = new TextEncoder().encode(JSON.stringify({ meta, arrays: entries } satisfies Header));
  const headerBytes = align16(json.length);
  const head = new Uint8Array(PREFIX + headerBytes).fill(0x20);
  head.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(head.buffer);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, headerBytes, true);
  head.set(json, PREFIX);
  await writeFileAtomic(path, async (file) => {
    await writeAll(file, head);
    let at = 0;
    for (const e of entries) {
      if (e.offset > at) await writeAll(file, new Uint8Array(e.offset - at));
      const bytes = bytesOf(arrays[e.name]!);
      await writeAll(file, bytes);
      at = e.offset + bytes.length;
    }
  });
}

function damaged(path: string, why: string): SagaError {
  return new SagaError('PROJECT_CORRUPT', `${path} is damaged (${why}).`, { path });
}

function readExactly(fd: number, position: number, length: number, path: string): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n <= 0) throw damaged(path, 'it ends early');
    done += n;
  }
  return out;
}

export interface TensorFile {
  meta: unknown;
  /** The names and lengths of the arrays in the file. */
  arrays: { name: string; dtype: Dtype; length: number }[];
  /** Reads (and checks) one array; undefined when the file has no array of that name. */
  read(name: string): TensorArray | undefined;
  close(): void;
}

/**
 * Opens a tensor file and checks its header. Arrays are read on demand (a caller that needs only
 * the features of a checkpoint does not read its optimiser state). Throws PROJECT_CORRUPT for a
 * damaged file and FILE_NOT_FOUND when it is missing.
 */
export function openTensorFile(path: string): TensorFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    if (code === 'ENOENT') throw new SagaError('FILE_NOT_FOUND', `${path} does not exist.`, { path }, { cause: e });
    throw new SagaError('FILE_UNREADABLE', `Cannot read ${path}. Check its permissions.`, { path }, { cause: e });
  }
  try {
    const prefix = readExactly(fd, 0, PREFIX, path);
    if (new TextDecoder().decode(prefix.subarray(0, 8)) !== MAGIC) throw damaged(path, 'not a SAGA Studio tensor file');
    const view = new DataView(prefix.buffer);
    if (view.getUint32(8, true) !== VERSION) throw damaged(path, `unknown version ${view.getUint32(8, true)}`);
    const headerLength = view.getUint32(12, true);
    if (headerLength > 1 << 24) throw damaged(path, 'header too large');
    let header: Header;
    try {
      header = JSON.parse(new TextDecoder().decode(readExactly(fd, PREFIX, headerLength, path))) as Header;
    } catch (e) {
      if (e instanceof SagaError) throw e;
      throw damaged(path, 'unreadable header');
    }
    if (!header || !Array.isArray(header.arrays)) throw damaged(path, 'header without arrays');
    for (const a of header.arrays) {
      if (typeof a.name !== 'string' || !(a.dtype in DTYPES) || !Number.isInteger(a.length) || a.length < 0 || !Number.isInteger(a.offset) || a.offset < 0) {
        throw damaged(path, 'malformed array entry');
      }
    }
    const file: TensorFile = {
      meta: header.meta,
      arrays: header.arrays.map(({ name, dtype, length }) => ({ name, dtype, length })),
      read(name) {
        const e = header.arrays.find((a) => a.name === name);
        if (!e) return undefined;
        const Type = DTYPES[e.dtype];
        const bytes = readExactly(fd, PREFIX + headerLength + e.offset, e.length * Type.BYTES_PER_ELEMENT, path);
        if (crc32(bytes) !== e.crc32) throw damaged(path, `checksum of '${name}' does not match`);
        return new Type(bytes.buffer as ArrayBuffer, 0, e.length);
      },
      close() {
        closeSync(fd);
      },
    };
    return file;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Reads a whole tensor file: its metadata and every array (checked). */
export function readTensorFile(path: string): { meta: unknown; arrays: Record<string, TensorArray> } {
  const file = openTensorFile(path);
  try {
    const arrays: Record<string, TensorArray> = {};
    for (const a of file.arrays) arrays[a.name] = file.read(a.name)!;
    return { meta: file.meta, arrays };
  } finally {
    file.close();
  }
}
