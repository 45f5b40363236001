/**
 * Helpers the camera readers share: typed errors that name the file and the problem, number
 * validation, and finding a view's image on disk.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { SagaError } from '../../contract/errors.ts';

/** A BAD_CAMERAS error that names the file and says what is wrong with it. */
export function badCameras(file: string, problem: string, details?: Record<string, unknown>): SagaError {
  return new SagaError('BAD_CAMERAS', `Cannot read cameras from ${file}: ${problem}`, { file, ...details });
}

/** A finite number, or a BAD_CAMERAS error naming the field. */
export function finiteNumber(file: string, where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw badCameras(file, `${where} must be a finite number (found ${JSON.stringify(value) ?? String(value)}).`);
  }
  return value;
}

/** A positive image dimension that fits an image (no negative, zero or fractional sizes). */
export function imageDimension(file: string, where: string, value: unknown): number {
  const n = finiteNumber(file, where, value);
  if (!Number.isInteger(n) || n <= 0 || n > 1 << 20) {
    throw badCameras(file, `${where} must be a positive whole number of pixels (found ${n}).`);
  }
  return n;
}

export function positiveFocal(file: string, where: string, value: unknown): number {
  const n = finiteNumber(file, where, value);
  if (n <= 0) throw badCameras(file, `${where} must be a positive focal length in pixels (found ${n}).`);
  return n;
}

export function numberArray(file: string, where: string, value: unknown, length: number): number[] {
  if (!Array.isArray(value) || value.length !== length) {
    throw badCameras(file, `${where} must be a list of ${length} numbers.`);
  }
  return value.map((v, i) => finiteNumber(file, `${where}[${i}]`, v));
}

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.webp', '.bmp', '.exr']);

/**
 * The image files of a folder indexed by every name a camera file may use for them: the full file
 * name, the name without its extension, and the name up to its first dot (3DGS stores
 * `basename.split(".")[0]`, so `frame.001.png` is called `frame`). Empty when the folder is absent.
 */
export async function indexImages(dir: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // An absent images folder is an expected situation (cameras without their photos): the caller
    // reports the views as missing images instead of failing.
    if (code === 'ENOENT' || code === 'ENOTDIR') return new Map();
    throw e;
  }
  names.sort();
  const index = new Map<string, string>();
  const add = (key: string, name: string) => {
    if (!index.has(key)) index.set(key, join(dir, name));
  };
  for (const name of names) add(name, name);
  for (const name of names) {
    const ext = extname(name);
    if (!IMAGE_EXTENSIONS.has(ext.toLowerCase())) continue;
    add(name.slice(0, -ext.length), name);
    const firstDot = name.indexOf('.');
    if (firstDot > 0) add(name.slice(0, firstDot), name);
  }
  return index;
}

/** FILE_NOT_FOUND or FILE_UNREADABLE for a failed read of a camera file. */
export function describeFsError(e: unknown, path: string): SagaError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new SagaError('FILE_NOT_FOUND', `No such file or folder: ${path}. Check the path.`, { file: path });
  const reason = e instanceof Error ? e.message : String(e);
  return new SagaError('FILE_UNREADABLE', `Cannot read ${path}: ${reason}. Check its permissions.`, { file: path }, { cause: e });
}

/** Reads a camera file, turning file system failures into typed errors that name the file. */
export async function readCameraFile(path: string): Promise<Buffer>;
export async function readCameraFile(path: string, encoding: 'utf8'): Promise<string>;
export async function readCameraFile(path: string, encoding?: 'utf8'): Promise<Buffer | string> {
  try {
    return encoding ? await readFile(path, encoding) : await readFile(path);
  } catch (e) {
    throw describeFsError(e, path);
  }
}
