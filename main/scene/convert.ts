/**
 * Converting a scene file to another file (`saga-studio convert`). A binary INRIA PLY going to a
 * PLY or a .splat file is streamed chunk by chunk, so the scene is never held whole: memory stays
 * at a few chunk buffers whatever the file size, and reading, converting and writing overlap
 * (reads and writes run on libuv's threads while this thread converts the chunk between them).
 * When the PLY written would have exactly the rows read (same properties, types and order, all
 * float32, little endian: what 3DGS training writes), rows are passed through as bytes after the
 * NaN/Inf check. Every other pair reads the whole scene and writes it (readScene, writeScene).
 *
 * The output is atomic either way (a temporary file renamed when complete), so a failure, a
 * cancellation or a rejected NaN leaves no partial file.
 */
import type { FileHandle } from 'node:fs/promises';
import { writeAll, writeFileAtomic } from '../common/atomic-write.ts';
import type { GaussianScene, ShDegree } from './gaussians.ts';
import { closeSceneFile, openSceneFile, outputFormatFor, readExact, readScene, writeScene } from './io.ts';
import { type PlyHeader } from './ply-header.ts';
import { PlyRowDecoder, checkBinaryPlySize, findVertexElement, planPlyScene } from './ply.ts';
import { PlyRowEncoder, plyHeaderText, plyWriteLayout, targetsFor, type PlyWriteProperty } from './ply-writer.ts';
import { type NonFiniteCount, type ReadOptions, checkAborted, checkSplatCount, countNonFiniteRows, mergeNonFinite, nonFiniteError } from './read-options.ts';
import { encodeSplat } from './splat.ts';

export interface ConvertOptions {
  /** 'reject' (default) refuses an input holding NaN/Inf values; 'keep' converts them as they are. */
  nonFinite?: 'reject' | 'keep';
  onProgress?: ReadOptions['onProgress'];
  signal?: AbortSignal;
}

export interface ConvertResult {
  count: number;
  shDegree: ShDegree;
  /** How it ran: rows passed through as bytes, streamed through a chunk scene, or read whole. */
  path: 'passthrough' | 'streamed' | 'whole';
}

/** Rows per chunk: about 8 MB of PLY rows, enough to amortise each read and write call. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export async function convertScene(input: string, output: string, options: ConvertOptions = {}): Promise<ConvertResult> {
  const outFormat = outputFormatFor(output);
  const opened = await openSceneFile(input, options.signal);
  try {
    if (opened.binaryPly && (outFormat === 'ply' || outFormat === 'splat')) {
      return await streamPly(opened.file, opened.binaryPly, opened.size, input, output, outFormat, options);
    }
  } finally {
    await closeSceneFile(opened.file);
  }
  const scene = await readScene(input, { nonFinite: options.nonFinite ?? 'reject', onProgress: options.onProgress, signal: options.signal });
  await writeScene(scene, output, { onProgress: options.onProgress, signal: options.signal });
  return { count: scene.count, shDegree: scene.shDegree, path: 'whole' };
}

function sameLayout(read: { name: string; type: string }[], written: PlyWriteProperty[]): boolean {
  return read.length === written.length && read.every((p, i) => p.name === written[i]!.name && p.type === written[i]!.type);
}

/** Counts rows of `words` (rowWords float32 words per row) holding NaN/Inf; firstRow is absolute. */
function scanFloatRows(words: Uint32Array, rowWords: number, rows: number, firstRow: number): NonFiniteCount {
  const end = rows * rowWords;
  let any = false;
  // One pass without bookkeeping: almost every real file is clean.
  for (let i = 0; i < end; i++) {
    if ((words[i]! & 0x7f800000) === 0x7f800000) {
      any = true;
      break;
    }
  }
  if (!any) return { count: 0, firstRow: -1 };
  let count = 0;
  let first = -1;
  for (let r = 0; r < rows; r++) {
    for (let k = r * rowWords; k < (r + 1) * rowWords; k++) {
      if ((words[k]! & 0x7f800000) === 0x7f800000) {
        if (first < 0) first = firstRow + r;
        count++;
        break;
      }
    }
  }
  return { count, firstRow: first };
}

async function streamPly(
  file: FileHandle,
  header: PlyHeader,
  size: number,
  input: string,
  output: string,
  outFormat: 'ply' | 'splat',
  options: ConvertOptions,
): Promise<ConvertResult> {
  const vertex = findVertexElement(header, input);
  const vertexOffset = checkBinaryPlySize(header, vertex, size, input);
  checkSplatCount(vertex.count, undefined, input);
  const n = vertex.count;
  const littleEndian = header.encoding === 'binary_little_endian';
  // The scene's shape without its data: what the writer would make of it.
  const { scene: shape } = planPlyScene({ ...vertex, count: 0 }, input);
  const layout = plyWriteLayout(shape);
  const passthrough = outFormat === 'ply' && littleEndian && vertex.properties.every((p) => p.type === 'float') && sameLayout(vertex.properties, layout);

  const rowBytes = vertex.properties.reduce((sum, p) => sum + (p.type === 'double' ? 8 : p.type === 'float' || p.type === 'int' || p.type === 'uint' ? 4 : p.type === 'short' || p.type === 'ushort' ? 2 : 1), 0);
  const rowsPerChunk = Math.max(1, Math.min(n, Math.floor(CHUNK_BYTES / rowBytes)));
  const chunks = Math.ceil(n / rowsPerChunk);
  const reject = (options.nonFinite ?? 'reject') === 'reject';
  let nonFinite: NonFiniteCount = { count: 0, firstRow: -1 };

  // Three buffers in rotation: chunk k is converted while k + 1 is read and k - 1 is written.
  const buffers = Array.from({ length: Math.min(3, chunks) }, () => new Uint8Array(rowsPerChunk * rowBytes));
  const rowsOf = (k: number) => Math.min(rowsPerChunk, n - k * rowsPerChunk);
  const read = (k: number) => readExact(file, buffers[k % buffers.length]!, rowsOf(k) * rowBytes, vertexOffset + k * rowsPerChunk * rowBytes, input);

  // The converting path: rows decoded into a chunk-sized scene, then encoded for the output.
  const chunk = passthrough ? undefined : planPlyScene({ ...vertex, count: rowsPerChunk }, input);
  const decoder = chunk && new PlyRowDecoder(chunk.targets, littleEndian);
  const encoder = chunk && outFormat === 'ply' ? new PlyRowEncoder(targetsFor(chunk.scene, layout)) : undefined;
  const encoded = encoder ? Array.from({ length: 2 }, () => new Uint8Array(rowsPerChunk * encoder.rowBytes + 8)) : [];

  /** The bytes to write for chunk k (a view of a reused buffer). */
  const convert = (k: number): Uint8Array => {
    const rows = rowsOf(k);
    const bytes = buffers[k % buffers.length]!;
    if (passthrough) {
      if (reject) nonFinite = mergeNonFinite(nonFinite, scanFloatRows(new Uint32Array(bytes.buffer, 0, (rows * rowBytes) >>> 2), rowBytes >>> 2, rows, k * rowsPerChunk));
      return bytes.subarray(0, rows * rowBytes);
    }
    const seen = decoder!.decodeRows(bytes, 0, rows);
    if (reject && seen !== 0) {
      const part = countNonFiniteRows(chunk!.scene, 0, rows);
      nonFinite = mergeNonFinite(nonFinite, { count: part.count, firstRow: part.firstRow < 0 ? -1 : part.firstRow + k * rowsPerChunk });
    }
    if (encoder) {
      const out = encoded[k & 1]!;
      encoder.encodeRows(out, 0, rows);
      return out.subarray(0, rows * encoder.rowBytes);
    }
    return encodeSplat({ ...chunk!.scene, count: rows } satisfies GaussianScene);
  };

  await writeFileAtomic(output, async (out) => {
    if (outFormat === 'ply') await writeAll(out, new TextEncoder().encode(plyHeaderText(n, layout)));
    let reading = read(0);
    let writing: Promise<void> = Promise.resolve();
    try {
      for (let k = 0; k < chunks; k++) {
        await reading;
        checkAborted(options.signal);
        // Chunk k + 1 goes into the buffer chunk k - 2 used, whose write has finished (awaited below).
        if (k + 1 < chunks) reading = read(k + 1);
        const bytes = convert(k);
        await writing;
        // Once a NaN is found nothing more is written (the file will be removed), but the rest is
        // still scanned so the error can say how many Gaussians are affected.
        writing = nonFinite.count > 0 ? Promise.resolve() : writeAll(out, bytes);
        options.onProgress?.({ stage: 'convert', done: k * rowsPerChunk + rowsOf(k), total: n });
      }
      await writing;
    } catch (e) {
      // Let the IO in flight settle before the files are closed under it.
      await Promise.allSettled([reading, writing]);
      throw e;
    }
    if (nonFinite.count > 0) throw nonFiniteError(input, nonFinite, n);
  });
  return { count: n, shDegree: shape.shDegree, path: passthrough ? 'passthrough' : 'streamed' };
}

