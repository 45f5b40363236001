/**
 * Writing part of a scene: the rows an edited scene keeps, in file order, optionally with extra
 * float columns per row (trained features). The output format follows the extension, like
 * writeScene; the write is atomic (temporary name, then rename).
 *
 * INRIA PLY goes through the PLY writer's row encoder (the source layout, 32-bit word copies), one
 * call per run of consecutive kept rows, into two reused 16 MB buffers (one is encoded while the
 * other is written): kept rows come out bit for bit as they were read, extras included, and no
 * copy of the scene is made. .splat and .spz are
 * encoded from a gathered copy of the kept rows (they are quantised formats, a fraction of the size).
 */
import { SagaError } from '../contract/errors.ts';
import { writeAll, writeFileAtomic } from '../common/atomic-write.ts';
import { shRestPerChannel, type GaussianScene, type ScalarArray } from './gaussians.ts';
import { encodeScene, outputFormatFor } from './io.ts';
import { PlyRowEncoder, plyHeaderText, plyWriteLayout, targetsFor, type PlyWriteProperty } from './ply-writer.ts';
import type { PropertyTarget } from './ply.ts';

/** Float values to add to each written row: `names.length` per scene row, row-major over the whole scene. */
export interface FloatColumns {
  names: string[];
  data: Float32Array;
}

export interface WriteRowsOptions {
  columns?: FloatColumns;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; done: number; total: number }) => void;
}

const CHUNK_BYTES = 16 * 1024 * 1024;

function cancelled(): SagaError {
  return new SagaError('CANCELLED', 'Saving the scene was cancelled; no file was written.');
}

/**
 * Writes rows `rows` (ascending scene row indices) of `scene` to `path`. Returns the bytes written.
 * @throws SagaError EMPTY_SCENE when no row is kept, BAD_ARGUMENT for columns a format cannot hold
 */
export async function writeSceneRows(scene: GaussianScene, rows: Uint32Array, path: string, options: WriteRowsOptions = {}): Promise<number> {
  const format = outputFormatFor(path);
  if (rows.length === 0) throw new SagaError('EMPTY_SCENE', 'There are no Gaussians left to save: every one is deleted or hidden. Undo a deletion, show a layer, or include hidden Gaussians.');
  for (let j = 0; j < rows.length; j++) {
    if (rows[j]! >= scene.count || (j > 0 && rows[j]! <= rows[j - 1]!)) throw new SagaError('INTERNAL', 'The rows to save are not ascending rows of the scene; this is a bug, please report it.');
  }
  const { columns } = options;
  if (columns && columns.data.length !== scene.count * columns.names.length) throw new SagaError('INTERNAL', `Extra columns hold ${columns.data.length} values for ${scene.count} Gaussians of ${columns.names.length} values.`);
  if (format === 'ply') return writePlyRows(scene, rows, path, options);
  if (columns && columns.names.length > 0) {
    throw new SagaError('BAD_ARGUMENT', `${path}: .${format} files cannot hold extra properties such as trained features. Save as .ply to include them.`, { path });
  }
  const bytes = encodeScene(sceneRows(scene, rows), format);
  await writeFileAtomic(path, async (file) => {
    if (options.signal?.aborted) throw cancelled();
    await writeAll(file, bytes);
  });
  options.onProgress?.({ stage: 'write', done: rows.length, total: rows.length });
  return bytes.length;
}

async function writePlyRows(scene: GaussianScene, rows: Uint32Array, path: string, options: WriteRowsOptions): Promise<number> {
  const layout = plyWriteLayout(scene);
  const targets = targetsFor(scene, layout);
  const columns = options.columns;
  if (columns) {
    const taken = new Set(layout.map((p) => p.name));
    const clash = columns.names.find((n) => taken.has(n));
    if (clash) throw new SagaError('BAD_ARGUMENT', `The scene already has a property '${clash}'; saving it with trained features would write it twice. Save without features.`, { property: clash });
    const stride = columns.names.length;
    columns.names.forEach((name, k) => {
      const p: PlyWriteProperty = { name, type: 'float' };
      layout.push(p);
      targets.push({ ...p, array: columns.data, stride, offset: k } satisfies PropertyTarget);
    });
  }
  const encoder = new PlyRowEncoder(targets);
  const header = new TextEncoder().encode(plyHeaderText(rows.length, layout));
  const rowBytes = encoder.rowBytes;
  const capacity = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  // Two buffers: one is encoded while the other is written (the write runs on libuv's thread pool).
  const buffers = [new Uint8Array(capacity * rowBytes + 8), new Uint8Array(Math.min(rows.length, capacity) * rowBytes + 8)];
  let written = header.length;
  await writeFileAtomic(path, async (file) => {
    await writeAll(file, header);
    let pending: Promise<void> | undefined;
    let j = 0;
    try {
      for (let which = 0; j < rows.length; which ^= 1) {
        if (options.signal?.aborted) throw cancelled();
        const buffer = buffers[which]!;
        // Fill the buffer with runs of consecutive rows, each encoded in one call.
        let filled = 0;
        while (j < rows.length && filled < capacity) {
          const start = rows[j]!;
          let end = j + 1;
          const limit = Math.min(rows.length, j + capacity - filled);
          while (end < limit && rows[end] === rows[end - 1]! + 1) end++;
          encoder.encodeRows(buffer.subarray(filled * rowBytes), start, end - j);
          filled += end - j;
          j = end;
        }
        await pending;
        pending = writeAll(file, buffer.subarray(0, filled * rowBytes));
        written += filled * rowBytes;
        options.onProgress?.({ stage: 'write', done: j, total: rows.length });
      }
      await pending;
    } catch (e) {
      // Let a write in flight settle before the file is closed and removed.
      await pending?.catch(() => undefined);
      throw e;
    }
  });
  return written;
}

function gather<T extends ScalarArray>(source: T, rows: Uint32Array, stride: number): T {
  const out = new (source.constructor as new (n: number) => T)(rows.length * stride);
  for (let j = 0; j < rows.length; j++) {
    const from = rows[j]! * stride;
    for (let k = 0; k < stride; k++) out[j * stride + k] = source[from + k]!;
  }
  return out;
}

/** A new scene holding rows `rows` of `scene`, in that order (extras and source layout kept). */
export function sceneRows(scene: GaussianScene, rows: Uint32Array): GaussianScene {
  return {
    count: rows.length,
    positions: gather(scene.positions, rows, 3),
    scales: gather(scene.scales, rows, 3),
    rotations: gather(scene.rotations, rows, 4),
    opacities: gather(scene.opacities, rows, 1),
    shDegree: scene.shDegree,
    sh0: gather(scene.sh0, rows, 3),
    shRest: gather(scene.shRest, rows, 3 * shRestPerChannel(scene.shDegree)),
    extras: scene.extras.map((e) => ({ ...e, data: gather(e.data, rows, 1) })),
    ...(scene.source ? { source: scene.source } : {}),
  };
}
