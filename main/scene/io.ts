/**
 * Scene file input and output: the one entry point the rest of the app uses.
 *
 * - `readScene(path)` detects the format from the extension and the first bytes; INRIA binary PLY
 *   files are streamed through a reused 16 MB buffer straight into the scene arrays (a 1M-splat
 *   file needs the scene plus two chunk buffers, not several copies).
 * - `readSceneBytes(bytes, format)` decodes a file already in memory (uploads, tests).
 * - `writeScene(scene, path)` picks the format from the extension (.ply, .splat, .spz) and writes
 *   atomically (temporary name, then rename).
 *
 * Every failure is a SagaError (FILE_NOT_FOUND, FILE_UNREADABLE, UNSUPPORTED_FORMAT, BAD_HEADER,
 * TRUNCATED, SIZE_MISMATCH, TOO_LARGE, EMPTY_SCENE, NON_FINITE_VALUES, WRITE_FAILED, CANCELLED), and
 * declared counts are checked against the byte length before anything is allocated.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';
import { SagaError } from '../contract/errors.ts';
import type { GaussianScene, SceneFormat } from './gaussians.ts';
import { decodeCompressedPly, isCompressedPlyHeader } from './compressed-ply.ts';
import { MAX_PLY_HEADER_BYTES, type PlyHeader, findHeaderEnd, isPlyMagic, parsePlyHeader } from './ply-header.ts';
import { PlyRowDecoder, checkBinaryPlySize, decodeAsciiPly, findVertexElement, planPlyScene } from './ply.ts';
import { encodePly, writePly } from './ply-writer.ts';
import {
  type NonFiniteCount,
  type ReadOptions,
  applyNonFinitePolicy,
  countNonFiniteRows,
  mergeNonFinite,
  checkAborted,
  checkSplatCount,
  progressReporter,
  where,
} from './read-options.ts';
import { decodeSplat, encodeSplat } from './splat.ts';
import { decodeSpz, encodeSpz, isGzip } from './spz.ts';
import { writeAll, writeFileAtomic } from '../common/atomic-write.ts';

export type { SceneFormat } from './gaussians.ts';
export type { NonFinitePolicy, ReadOptions } from './read-options.ts';

export interface WriteOptions {
  onProgress?: ReadOptions['onProgress'];
  signal?: AbortSignal;
}

/** Files we read whole (compressed PLY, .splat, .spz, ASCII PLY) must fit in one buffer. */
const MAX_WHOLE_FILE_BYTES = 2 ** 31 - 1;
const STREAM_CHUNK_BYTES = 16 * 1024 * 1024;
const SNIFF_BYTES = 64 * 1024;

const EXTENSION_FORMATS: Record<string, SceneFormat> = { '.ply': 'ply', '.splat': 'splat', '.spz': 'spz' };

function containsAscii(bytes: Uint8Array, needle: string): boolean {
  const limit = Math.min(bytes.length, MAX_PLY_HEADER_BYTES);
  const first = needle.charCodeAt(0);
  outer: for (let i = 0; i + needle.length <= limit; i++) {
    if (bytes[i] !== first) continue;
    for (let k = 1; k < needle.length; k++) if (bytes[i + k] !== needle.charCodeAt(k)) continue outer;
    return true;
  }
  return false;
}

/**
 * The format of a scene file from its path and first bytes (64 KB is plenty). PLY content is
 * recognised whatever the extension; a PLY whose vertices carry `packed_position` is the
 * PlayCanvas compressed layout.
 * @throws SagaError UNSUPPORTED_FORMAT when neither the bytes nor the extension say what it is.
 */
export function detectSceneFormat(path: string, firstBytes: Uint8Array): SceneFormat {
  if (isPlyMagic(firstBytes)) {
    const end = findHeaderEnd(firstBytes);
    const header = end >= 0 ? firstBytes.subarray(0, end) : firstBytes;
    return containsAscii(header, 'packed_position') && containsAscii(header, 'element chunk') ? 'compressed-ply' : 'ply';
  }
  const ext = extname(path).toLowerCase();
  const byExt = EXTENSION_FORMATS[ext];
  if (byExt === 'ply') {
    throw new SagaError('BAD_HEADER', `${path}: the file has a .ply extension but does not start with the 'ply' magic line. It is corrupt or not a PLY file.`, { path });
  }
  if (byExt) return byExt;
  if (isGzip(firstBytes)) return 'spz';
  throw new SagaError(
    'UNSUPPORTED_FORMAT',
    `${path}: unknown scene format${ext ? ` '${ext}'` : ''}. Supported: 3DGS PLY (.ply), PlayCanvas compressed PLY (.ply), antimatter15 .splat and Niantic .spz.`,
    { path, extension: ext },
  );
}

/** Decodes a scene file held in memory. `path` (optional) only makes error messages name the file. */
export function readSceneBytes(bytes: Uint8Array, format: SceneFormat, options?: ReadOptions & { path?: string }): GaussianScene {
  const path = options?.path;
  checkAborted(options?.signal);
  let scene: GaussianScene;
  let counted: NonFiniteCount | undefined;
  switch (format) {
    case 'ply':
    case 'compressed-ply':
      ({ scene, counted } = decodePlyBytes(bytes, options, path));
      break;
    case 'splat':
      scene = decodeSplat(bytes, options, path);
      break;
    case 'spz':
      scene = decodeSpz(bytes, options, path);
      break;
    default:
      throw new SagaError('UNSUPPORTED_FORMAT', `Unknown scene format '${String(format)}'.`);
  }
  applyNonFinitePolicy(scene, options, path, counted);
  return scene;
}

/** `counted` is set when the binary decoder already knows the scene has no NaN/Inf values. */
function decodePlyBytes(bytes: Uint8Array, options: ReadOptions | undefined, path: string | undefined): { scene: GaussianScene; counted?: NonFiniteCount } {
  const header = parsePlyHeader(bytes, path);
  if (isCompressedPlyHeader(header)) return { scene: decodeCompressedPly(bytes, header, options, path) };
  const vertex = findVertexElement(header, path);
  if (header.encoding === 'ascii') return { scene: decodeAsciiPlyScene(header, bytes.subarray(header.headerBytes), options, path) };
  const vertexOffset = checkBinaryPlySize(header, vertex, bytes.length, path);
  checkSplatCount(vertex.count, options, path);
  const { scene, targets } = planPlyScene(vertex, path);
  const decoder = new PlyRowDecoder(targets, header.encoding === 'binary_little_endian');
  const rowsPerChunk = Math.max(1, Math.floor(STREAM_CHUNK_BYTES / Math.max(1, decoder.rowBytes)));
  const report = progressReporter(options, 'read', vertex.count);
  let seen = 0;
  for (let row = 0; row < vertex.count; row += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, vertex.count - row);
    const start = vertexOffset + row * decoder.rowBytes;
    const s = decoder.decodeRows(bytes.subarray(start, start + rows * decoder.rowBytes), row, rows);
    seen = s < 0 || seen < 0 ? -1 : seen + s;
    report(row + rows);
  }
  return seen === 0 ? { scene, counted: { count: 0, firstRow: -1 } } : { scene };
}

function decodeAsciiPlyScene(header: PlyHeader, body: Uint8Array, options: ReadOptions | undefined, path: string | undefined): GaussianScene {
  const vertex = findVertexElement(header, path);
  // Each value needs at least one character and one separator: a count the body cannot hold is
  // rejected before the scene arrays are allocated.
  const minBytes = vertex.count * vertex.properties.length * 2;
  if (body.length < minBytes - 1) {
    throw new SagaError('TRUNCATED', `${where(path)}the ASCII PLY declares ${vertex.count.toLocaleString('en-US')} Gaussians but its ${body.length.toLocaleString('en-US')} data bytes cannot hold them. Copy or export the file again.`, { path });
  }
  checkSplatCount(vertex.count, options, path);
  const { scene, targets } = planPlyScene(vertex, path);
  const decoder = new PlyRowDecoder(targets, true);
  decodeAsciiPly(header, vertex, decoder, body, path);
  return scene;
}

export function openError(path: string, e: unknown): SagaError {
  const code = e instanceof Error && 'code' in e ? String(e.code) : '';
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new SagaError('FILE_NOT_FOUND', `${path}: no such file. Check the path and try again.`, { path }, { cause: e });
  }
  if (code === 'EISDIR') {
    return new SagaError('FILE_UNREADABLE', `${path} is a folder, not a scene file. Give the scene file inside it (a 3DGS training output keeps it in point_cloud/iteration_<N>/point_cloud.ply).`, { path, code }, { cause: e });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new SagaError('FILE_UNREADABLE', `${path}: cannot read the file (permission denied). Check its permissions or choose another file.`, { path, code }, { cause: e });
  }
  return new SagaError('FILE_UNREADABLE', `${path}: cannot read the file (${e instanceof Error ? e.message : String(e)}). Choose another file.`, { path, code }, { cause: e });
}

export async function readExact(file: FileHandle, buffer: Uint8Array, length: number, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new SagaError('TRUNCATED', `${path}: the file ended while it was being read (it shrank or is still being written). Try again once it is complete.`, { path });
    }
    done += bytesRead;
  }
}

/**
 * Reads a scene file. INRIA binary PLY is streamed in 16 MB chunks (reading the next chunk while
 * the current one is decoded); other formats are read whole, after a size check.
 */
/** An open scene file, its size and format, and the parsed header when it is a binary INRIA PLY. */
export interface OpenedSceneFile {
  file: FileHandle;
  size: number;
  format: SceneFormat;
  /** Set for a binary (little or big endian) INRIA PLY: the layout the streaming readers need. */
  binaryPly?: PlyHeader;
}

/**
 * Opens a scene file and tells what it holds from its first bytes. The caller closes `file`
 * (closeSceneFile); on failure nothing is left open.
 */
export async function openSceneFile(path: string, signal?: AbortSignal): Promise<OpenedSceneFile> {
  checkAborted(signal);
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    size = st.size;
  } catch (e) {
    throw openError(path, e);
  }
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const first = new Uint8Array(Math.min(size, SNIFF_BYTES));
    await readExact(file, first, first.length, 0, path).catch((e: unknown) => { throw e instanceof SagaError ? e : openError(path, e); });
    if (size === 0) {
      throw new SagaError('EMPTY_SCENE', `${path}: the file is empty (0 bytes). Choose a trained scene file.`, { path });
    }
    const format = detectSceneFormat(path, first);
    if (format === 'ply') {
      let headerBytes = first;
      if (findHeaderEnd(first) < 0 && size > first.length) {
        headerBytes = new Uint8Array(Math.min(size, MAX_PLY_HEADER_BYTES));
        await readExact(file, headerBytes, headerBytes.length, 0, path);
      }
      const header = parsePlyHeader(headerBytes, path);
      if (header.encoding !== 'ascii' && !isCompressedPlyHeader(header)) return { file, size, format, binaryPly: header };
    }
    return { file, size, format };
  } catch (e) {
    await closeSceneFile(file);
    throw e;
  }
}

export async function closeSceneFile(file: FileHandle): Promise<void> {
  await file.close().catch((closeError: unknown) => {
    // Reading is finished (or already failed); a close error cannot change what the caller gets.
    void closeError;
  });
}

export async function readScene(path: string, options?: ReadOptions): Promise<GaussianScene> {
  const { file, size, format, binaryPly } = await openSceneFile(path, options?.signal);
  try {
    if (binaryPly) {
      const { scene, nonFinite } = await streamBinaryPly(file, binaryPly, size, options, path);
      applyNonFinitePolicy(scene, options, path, nonFinite);
      return scene;
    }
    if (size > MAX_WHOLE_FILE_BYTES) {
      throw new SagaError('TOO_LARGE', `${path}: the file is ${(size / 2 ** 30).toFixed(1)} GB; files of this format must be under 2 GB to load. Convert it to a binary 3DGS PLY first.`, { path, size });
    }
    const bytes = new Uint8Array(size);
    const report = progressReporter(options, 'read', size);
    for (let done = 0; done < size; done += STREAM_CHUNK_BYTES) {
      checkAborted(options?.signal);
      const len = Math.min(STREAM_CHUNK_BYTES, size - done);
      await readExact(file, bytes.subarray(done, done + len), len, done, path);
      report(done + len);
    }
    const scene = readSceneBytes(bytes, format, { ...options, path });
    options?.onProgress?.({ stage: 'decode', done: scene.count, total: scene.count });
    return scene;
  } finally {
    await closeSceneFile(file);
  }
}

async function streamBinaryPly(
  file: FileHandle,
  header: PlyHeader,
  size: number,
  options: ReadOptions | undefined,
  path: string,
): Promise<{ scene: GaussianScene; nonFinite: NonFiniteCount | undefined }> {
  const vertex = findVertexElement(header, path);
  const vertexOffset = checkBinaryPlySize(header, vertex, size, path);
  checkSplatCount(vertex.count, options, path);
  const { scene, targets } = planPlyScene(vertex, path);
  const decoder = new PlyRowDecoder(targets, header.encoding === 'binary_little_endian');
  const rowBytes = decoder.rowBytes;
  const n = vertex.count;
  const rowsPerChunk = Math.max(1, Math.floor(STREAM_CHUNK_BYTES / Math.max(1, rowBytes)));
  const chunkBytes = rowsPerChunk * rowBytes;
  // Two buffers: the next chunk is read (on libuv's thread pool) while this one is decoded.
  const bufferBytes = Math.min(chunkBytes, n * rowBytes);
  const buffers = [new Uint8Array(bufferBytes), new Uint8Array(n * rowBytes > chunkBytes ? bufferBytes : 0)];
  const report = progressReporter(options, 'read', n);
  const readChunk = (k: number): Promise<void> => {
    const row = k * rowsPerChunk;
    const rows = Math.min(rowsPerChunk, n - row);
    return readExact(file, buffers[k & 1]!, rows * rowBytes, vertexOffset + row * rowBytes, path);
  };
  const chunks = Math.ceil(n / rowsPerChunk);
  // The NaN/Inf scan runs per chunk too, so no step blocks the event loop for long (a worker
  // holding a Dawn device must keep its loop responsive).
  const scan = (options?.nonFinite ?? 'reject') !== 'keep';
  let nonFinite: NonFiniteCount | undefined = scan ? { count: 0, firstRow: -1 } : undefined;
  let pending = readChunk(0);
  for (let k = 0; k < chunks; k++) {
    await pending;
    checkAborted(options?.signal);
    if (k + 1 < chunks) pending = readChunk(k + 1);
    const row = k * rowsPerChunk;
    const rows = Math.min(rowsPerChunk, n - row);
    let seen: number;
    try {
      seen = decoder.decodeRows(buffers[k & 1]!, row, rows);
    } catch (e) {
      // Let the read in flight settle before the file handle is closed by the caller.
      await pending.catch(() => undefined);
      throw e;
    }
    // The decoder counts NaN/Inf words as it copies; rows are only rescanned (to count Gaussians
    // and find the first row) when it saw some or could not tell.
    if (nonFinite && seen !== 0) nonFinite = mergeNonFinite(nonFinite, countNonFiniteRows(scene, row, rows));
    report(row + rows);
  }
  return { scene, nonFinite };
}

/** Encodes a scene in memory: INRIA PLY, .splat or .spz. */
export function encodeScene(scene: GaussianScene, format: 'ply' | 'splat' | 'spz'): Uint8Array {
  switch (format) {
    case 'ply': return encodePly(scene);
    case 'splat': return encodeSplat(scene);
    case 'spz': return encodeSpz(scene);
  }
}

/** The output format for a path's extension, or UNSUPPORTED_FORMAT naming what can be written. */
export function outputFormatFor(path: string): 'ply' | 'splat' | 'spz' {
  const ext = extname(path).toLowerCase();
  if (ext === '.ply') return 'ply';
  if (ext === '.splat') return 'splat';
  if (ext === '.spz') return 'spz';
  throw new SagaError('UNSUPPORTED_FORMAT', `${path}: cannot write '${ext || '(no extension)'}' files. Use .ply (3DGS PLY), .splat or .spz.`, { path, extension: ext });
}

/** Writes a scene; the format follows the extension. Atomic: a failure leaves no partial file. */
export async function writeScene(scene: GaussianScene, path: string, options?: WriteOptions): Promise<void> {
  const format = outputFormatFor(path);
  if (format === 'ply') {
    await writePly(scene, path, options);
    return;
  }
  const bytes = encodeScene(scene, format);
  await writeFileAtomic(path, async (file) => {
    if (options?.signal?.aborted) throw new SagaError('CANCELLED', 'Saving the scene was cancelled; the previous file is unchanged.');
    await writeAll(file, bytes);
  });
}
