/**
 * Options and checks shared by every scene reader: what to do with NaN/Inf values, progress,
 * cancellation and the size limit that keeps a corrupt count from allocating gigabytes.
 */
import { SagaError } from '../contract/errors.ts';
import type { JobProgress } from '../contract/api.ts';
import type { GaussianScene } from './gaussians.ts';

export type NonFinitePolicy = 'reject' | 'keep' | 'report';

export interface ReadOptions {
  /**
   * NaN or infinite values: 'reject' (default) throws NON_FINITE_VALUES naming the count and first
   * row; 'keep' returns them untouched without checking; 'report' returns them and records the
   * count in `scene.source.nonFinite`.
   */
  nonFinite?: NonFinitePolicy;
  onProgress?: (progress: JobProgress) => void;
  signal?: AbortSignal;
  /** Refuse scenes with more Gaussians than this (TOO_LARGE). Default {@link DEFAULT_MAX_SPLATS}. */
  maxSplats?: number;
}

/** 64M Gaussians of SH degree 3 take about 15 GB decoded: beyond what this app can hold. */
export const DEFAULT_MAX_SPLATS = 64 * 1024 * 1024;

export function where(path: string | undefined): string {
  return path ? `${path}: ` : '';
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SagaError('CANCELLED', 'Reading the scene was cancelled.');
}

export function checkSplatCount(count: number, options: ReadOptions | undefined, path: string | undefined): void {
  if (count === 0) {
    throw new SagaError('EMPTY_SCENE', `${where(path)}the file holds no Gaussians. Choose a trained scene with at least one splat.`, { path });
  }
  const max = options?.maxSplats ?? DEFAULT_MAX_SPLATS;
  if (count > max) {
    throw new SagaError(
      'TOO_LARGE',
      `${where(path)}the file declares ${count.toLocaleString('en-US')} Gaussians, more than the ${max.toLocaleString('en-US')} this app can load. Decimate the scene (for example with SuperSplat) and try again.`,
      { path, count, max },
    );
  }
}

/** Counts non-finite values of rows [first, first + rows) of an array with `stride` values per row. */
function scanRows(a: Float32Array, stride: number, first: number, rows: number, rowFlags: Uint8Array | undefined): number {
  // Integer test on the bits (exponent all ones = NaN or ±Infinity): no float conversion per value.
  const w = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const end = (first + rows) * stride;
  let bad = 0;
  for (let i = first * stride; i < end; i++) {
    if ((w[i]! & 0x7f800000) === 0x7f800000) {
      bad++;
      if (rowFlags) rowFlags[((i / stride) | 0) - first] = 1;
    }
  }
  return bad;
}

function scanExtraRows(data: Float32Array | Float64Array, first: number, rows: number, rowFlags: Uint8Array | undefined): number {
  let bad = 0;
  for (let i = first; i < first + rows; i++) {
    if (data[i]! - data[i]! !== 0) {
      bad++;
      if (rowFlags) rowFlags[i - first] = 1;
    }
  }
  return bad;
}

export interface NonFiniteCount {
  /** Gaussians (rows) holding at least one NaN or infinite float value. */
  count: number;
  /** The first such row, or -1 if none. */
  firstRow: number;
}

/**
 * Counts the rows [first, first + rows) holding NaN or infinite float values. Streaming readers
 * call it chunk by chunk so a large scene is never scanned in one long synchronous stretch.
 */
export function countNonFiniteRows(scene: GaussianScene, first: number, rows: number): NonFiniteCount {
  const n = scene.count;
  const arrays: [Float32Array, number][] = [
    [scene.positions, 3], [scene.scales, 3], [scene.rotations, 4], [scene.opacities, 1], [scene.sh0, 3],
  ];
  if (scene.shRest.length > 0) arrays.push([scene.shRest, scene.shRest.length / n]);
  const floatExtras = scene.extras.flatMap((e) => (e.data instanceof Float32Array || e.data instanceof Float64Array ? [e.data] : []));
  // Fast pass without bookkeeping: almost every real file is clean.
  let any = 0;
  for (const [a, s] of arrays) any += scanRows(a, s, first, rows, undefined);
  for (const d of floatExtras) any += scanExtraRows(d, first, rows, undefined);
  if (any === 0) return { count: 0, firstRow: -1 };
  const flags = new Uint8Array(rows);
  for (const [a, s] of arrays) scanRows(a, s, first, rows, flags);
  for (const d of floatExtras) scanExtraRows(d, first, rows, flags);
  let count = 0;
  let firstRow = -1;
  for (let i = 0; i < rows; i++) {
    if (flags[i]) {
      if (firstRow < 0) firstRow = first + i;
      count++;
    }
  }
  return { count, firstRow };
}

/** Counts the Gaussians holding at least one NaN or infinite float value; firstRow -1 if none. */
export function countNonFinite(scene: GaussianScene): NonFiniteCount {
  return countNonFiniteRows(scene, 0, scene.count);
}

/** Adds the count of a later row range to a running total. */
export function mergeNonFinite(total: NonFiniteCount, part: NonFiniteCount): NonFiniteCount {
  return { count: total.count + part.count, firstRow: total.firstRow >= 0 ? total.firstRow : part.firstRow };
}

/**
 * Applies the non-finite policy to a freshly read scene (throws, records, or does nothing).
 * `counted` is the result of a scan the reader already made while streaming, if any.
 */
export function applyNonFinitePolicy(scene: GaussianScene, options: ReadOptions | undefined, path: string | undefined, counted?: NonFiniteCount): void {
  const policy = options?.nonFinite ?? 'reject';
  if (policy === 'keep') return;
  const { count, firstRow } = counted ?? countNonFinite(scene);
  if (policy === 'report') {
    scene.source = { ...(scene.source ?? { format: 'ply' }), nonFinite: { count, firstRow } };
    return;
  }
  if (count > 0) throw nonFiniteError(path, { count, firstRow }, scene.count);
}

/** NON_FINITE_VALUES for a scene of `total` Gaussians of which `counted` hold NaN or infinite values. */
export function nonFiniteError(path: string | undefined, counted: NonFiniteCount, total: number): SagaError {
  return new SagaError(
    'NON_FINITE_VALUES',
    `${where(path)}${counted.count.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} Gaussians hold NaN or infinite values (first at row ${counted.firstRow}). Open it with non-finite values kept or reported (CLI: --non-finite keep), or clean the scene in its training tool.`,
    { path, count: counted.count, firstRow: counted.firstRow },
  );
}

/** Reports progress at most every few percent so callers are not flooded. */
export function progressReporter(options: ReadOptions | undefined, stage: string, total: number): (done: number) => void {
  const cb = options?.onProgress;
  if (!cb) return () => {};
  let last = -1;
  const step = Math.max(1, Math.floor(total / 50));
  return (done: number) => {
    if (done === total || done - last >= step) {
      last = done;
      cb({ stage, done, total });
    }
  };
}
