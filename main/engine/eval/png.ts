/**
 * PNG encodings of the ground truth and masks (fast-png, pure JS):
 * - images: 8-bit RGB;
 * - label maps: 16-bit greyscale, the pixel value is the object id (0 = background);
 * - masks: 8-bit greyscale, 255 inside, 0 outside, read back with the imported-masks rule
 *   (masks/imported.ts decodeMaskImage: a pixel is inside when any colour channel is non-zero).
 * The codecs are common/png.ts.
 */
import { readFile } from 'node:fs/promises';
import { decodePng, encodeGrey16Png, encodeGreyPng, encodeRgbPng } from '../../common/png.ts';
import { SagaError } from '../../contract/errors.ts';
import { decodeMaskImage } from '../masks/imported.ts';
import type { Mask2D } from '../segment/mask2d.ts';

export function encodeRgb(color: Float32Array, width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(255 * Math.min(1, Math.max(0, color[i]!)));
  return encodeRgbPng(data, width, height);
}

export function encodeLabels(labels: Uint16Array, width: number, height: number): Uint8Array {
  return encodeGrey16Png(labels, width, height);
}

export function encodeMask(mask: Uint8Array, width: number, height: number): Uint8Array {
  const data = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) data[i] = mask[i] ? 255 : 0;
  return encodeGreyPng(data, width, height);
}

function decodeFile(bytes: Uint8Array, path: string) {
  try {
    return decodePng(bytes);
  } catch (e) {
    throw new SagaError('BAD_IMAGE', `${path} is not a readable PNG (${e instanceof Error ? e.message : String(e)}). Regenerate it or remove it.`, { file: path }, { cause: e });
  }
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SagaError('FILE_NOT_FOUND', `${path} does not exist. Check the folder, or regenerate it with 'saga-studio synth'.`, { file: path });
    throw new SagaError('FILE_UNREADABLE', `Could not read ${path}: ${e instanceof Error ? e.message : String(e)}.`, { file: path }, { cause: e });
  }
}

/** Reads a label map written by encodeLabels (16-bit grey); an 8-bit grey map is accepted too. */
export async function readLabels(path: string): Promise<{ width: number; height: number; labels: Uint16Array }> {
  const png = decodeFile(await readBytes(path), path);
  if (png.channels !== 1) throw new SagaError('BAD_IMAGE', `${path} should be a one-channel label map (object id per pixel), but has ${png.channels} channels.`, { file: path });
  const labels = png.data instanceof Uint16Array ? png.data : Uint16Array.from(png.data);
  return { width: png.width, height: png.height, labels };
}

/** Reads a mask picture (PNG or JPEG) with the imported-masks rule: inside when any colour channel is non-zero. */
export async function readMask(path: string): Promise<Mask2D> {
  return decodeMaskImage(await readBytes(path), path);
}
