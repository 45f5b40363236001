/**
 * Imported masks, for people who run SAM (or another segmenter) elsewhere: a folder
 * `<folder>/<image-stem>/<k>.png`, one PNG (or JPEG) per mask, non-zero = inside. <k> orders the
 * masks and is kept as the mask's level. Masks may be at any resolution with the view's aspect
 * ratio; they are area-resampled to the view's mask grid.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { SagaError } from '../../contract/errors.ts';
import { decodeImage, resizeChannels } from './image.ts';

export interface ImportedMask {
  level: number;
  /** 0/1 at the requested grid size. */
  mask: Uint8Array;
  area: number;
}

/**
 * The one rule for reading a mask picture (imported masks, evaluation ground truth): the image is
 * decoded to 8-bit RGB (alpha composited over black, palettes expanded, 16-bit scaled) and a pixel
 * is inside when any of its R, G, B values is non-zero. So a transparent pixel is outside, and a
 * grey 0/255 mask reads as written. Returns 0/1 per pixel at the image's own size.
 */
export function decodeMaskImage(bytes: Uint8Array, path: string): { width: number; height: number; data: Uint8Array } {
  const img = decodeImage(bytes, path);
  const data = new Uint8Array(img.width * img.height);
  for (let i = 0; i < data.length; i++) data[i] = img.data[i * 3]! || img.data[i * 3 + 1]! || img.data[i * 3 + 2]! ? 1 : 0;
  return { width: img.width, height: img.height, data };
}

export function imageStem(imagePath: string): string {
  return basename(imagePath, extname(imagePath));
}

/** Reads one view's imported masks at gridW x gridH. Throws MASKS_MISSING when the view has none. */
export function readImportedMasks(folder: string, imagePath: string, gridW: number, gridH: number): ImportedMask[] {
  const stem = imageStem(imagePath);
  const dir = join(folder, stem);
  if (!existsSync(dir)) {
    throw new SagaError('MASKS_MISSING', `No imported masks for view '${stem}': expected a folder ${dir} with one <k>.png per mask.`, { dir });
  }
  const files = readdirSync(dir)
    .filter((f) => /^\d+\.(png|jpe?g)$/i.test(f))
    .sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  if (files.length === 0) {
    throw new SagaError('MASKS_MISSING', `The folder ${dir} holds no masks: name them 0.png, 1.png, ... (non-zero pixels = inside).`, { dir });
  }
  return files.map((f) => {
    const path = join(dir, f);
    const img = decodeMaskImage(new Uint8Array(readFileSync(path)), path);
    const grid = resizeChannels(Float32Array.from(img.data), img.width, img.height, 1, gridW, gridH);
    const mask = new Uint8Array(gridW * gridH);
    let area = 0;
    for (let i = 0; i < mask.length; i++) {
      mask[i] = grid[i]! >= 0.5 ? 1 : 0;
      area += mask[i]!;
    }
    return { level: parseInt(f, 10), mask, area };
  });
}
