/**
 * What a training step needs of one prepared view, derived once when the view is loaded from the
 * plain contents of its cache entry (masks, SAM features, their grids; the host reads the files):
 *
 * - the mask grid (the feature map is rendered at this size, about 200 px wide: the masks' own
 *   resolution, so the guidance loss compares rendered features and masks pixel for pixel);
 * - per pixel, the set of masks holding it, as a bitset (targets of both losses);
 * - the SAM feature cells that the image covers, cell-major (cells x 256, float16 as stored), and for
 *   each pixel its cell: nearest upsampling of the 64 x 64 SAM grid to the mask grid;
 * - per mask, the share of its pixels in each cell (the prototype's averaging weights).
 */
import { SagaError } from '../../contract/errors.ts';
import type { ViewManifest } from '../masks/storage.ts';

/** SAM embedding cells span 16 x 16 pixels of the 1024-pixel frame. */
const CELL = 16;

export interface TrainingView {
  name: string;
  width: number;
  height: number;
  masks: number;
  /** 32-bit words per pixel in `membership`. */
  words: number;
  /** Pixel-major mask bitsets: bit k of pixel p is word p * words + (k >> 5), bit k & 31. */
  membership: Uint32Array;
  /** Pixels of each mask. */
  areas: Uint32Array;
  /** The pixels of each mask, mask after mask: mask k's are maskPixels[maskStart[k] .. maskStart[k + 1]). */
  maskPixels: Uint32Array;
  maskStart: Uint32Array;
  /** Image features of the covered cells (cells x channels, float16 bits), or undefined without features. */
  sam?: { cells: number; channels: number; data: Uint16Array };
  /** Cell of each pixel (index into sam's cells). */
  pixelCell?: Uint32Array;
  /** masks x cells: the share of mask k's pixels in cell c (rows sum to 1). */
  cellWeights?: Float32Array;
  /** Bytes held, for the loader's budget. */
  bytes: number;
}

export interface PreparedViewContents {
  manifest: ViewManifest;
  /** One bit-packed mask per manifest entry (storage.ts layout). */
  masks: Uint8Array[];
  /** The C x H x W feature map as float16 bits, when the view has features. */
  features?: Uint16Array;
}

export function trainingView(name: string, contents: PreparedViewContents): TrainingView {
  const { manifest: m, masks } = contents;
  const width = m.maskWidth;
  const height = m.maskHeight;
  const pixels = width * height;
  const K = masks.length;
  if (K === 0) throw new SagaError('MASKS_MISSING', `View '${name}' has no masks to train on.`, { view: name });
  const words = Math.ceil(K / 32);
  const membership = new Uint32Array(pixels * words);
  const areas = new Uint32Array(K);
  for (let k = 0; k < K; k++) {
    const bits = masks[k]!;
    if (bits.length * 8 < pixels) throw new SagaError('PROJECT_CORRUPT', `Mask ${k} of view '${name}' is shorter than its ${width}x${height} grid. Prepare the view again.`, { view: name });
    const word = k >> 5;
    const bit = 1 << (k & 31);
    let area = 0;
    for (let p = 0; p < pixels; p++) {
      if ((bits[p >> 3]! >> (p & 7)) & 1) {
        membership[p * words + word]! |= bit;
        area++;
      }
    }
    areas[k] = area;
  }
  const maskStart = new Uint32Array(K + 1);
  for (let k = 0; k < K; k++) maskStart[k + 1] = maskStart[k]! + areas[k]!;
  const maskPixels = new Uint32Array(maskStart[K]!);
  const fill = maskStart.slice(0, K);
  for (let p = 0; p < pixels; p++) {
    for (let w = 0; w < words; w++) {
      let bits = membership[p * words + w]!;
      while (bits) {
        const low = bits & -bits;
        const k = w * 32 + 31 - Math.clz32(low);
        maskPixels[fill[k]!++] = p;
        bits ^= low;
      }
    }
  }
  const view: TrainingView = { name, width, height, masks: K, words, membership, areas, maskPixels, maskStart, bytes: membership.byteLength + maskPixels.byteLength };
  const f = m.features;
  if (!f || !contents.features) return view;
  if (contents.features.length !== f.channels * f.height * f.width) {
    throw new SagaError('PROJECT_CORRUPT', `The image features of view '${name}' do not match their manifest. Prepare the view again.`, { view: name });
  }
  // Pixel centre -> image -> SAM frame -> cell; cells the image covers get compact numbers.
  const cellOf = new Int32Array(f.width * f.height).fill(-1);
  const pixelCell = new Uint32Array(pixels);
  const cells: number[] = [];
  for (let y = 0; y < height; y++) {
    const fy = Math.min(f.height - 1, Math.floor((((y + 0.5) / height) * f.frame.height) / CELL));
    for (let x = 0; x < width; x++) {
      const fx = Math.min(f.width - 1, Math.floor((((x + 0.5) / width) * f.frame.width) / CELL));
      const grid = fy * f.width + fx;
      if (cellOf[grid] === -1) {
        cellOf[grid] = cells.length;
        cells.push(grid);
      }
      pixelCell[y * width + x] = cellOf[grid]!;
    }
  }
  const C = cells.length;
  const channels = f.channels;
  const data = new Uint16Array(C * channels);
  const plane = f.width * f.height;
  for (let c = 0; c < C; c++) {
    const grid = cells[c]!;
    for (let ch = 0; ch < channels; ch++) data[c * channels + ch] = contents.features[ch * plane + grid]!;
  }
  const cellWeights = new Float32Array(K * C);
  for (let p = 0; p < pixels; p++) {
    const c = pixelCell[p]!;
    for (let w = 0; w < words; w++) {
      let bits = membership[p * words + w]!;
      while (bits) {
        const low = bits & -bits;
        const k = w * 32 + 31 - Math.clz32(low);
        cellWeights[k * C + c]!++;
        bits ^= low;
      }
    }
  }
  for (let k = 0; k < K; k++) {
    const area = areas[k]!;
    if (area > 0) for (let c = 0; c < C; c++) cellWeights[k * C + c]! /= area;
  }
  view.sam = { cells: C, channels, data };
  view.pixelCell = pixelCell;
  view.cellWeights = cellWeights;
  view.bytes += data.byteLength + pixelCell.byteLength + cellWeights.byteLength;
  return view;
}
