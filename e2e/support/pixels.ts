/** Screenshot arithmetic for the e2e tests: pure functions on RGBA(-like) pixel arrays. */

export interface Image {
  width: number;
  height: number;
  /** Interleaved channels, `channels` per pixel, 8 bits each. */
  data: Uint8Array | Uint8ClampedArray;
  channels: number;
}

/**
 * Share (0..1) of pixels in the centred box covering `fraction` of each dimension whose colour is
 * farther than `tolerance` (sum of absolute RGB differences) from `background`.
 */
export function shareDifferentFrom(img: Image, background: readonly [number, number, number], fraction = 0.5, tolerance = 24): number {
  const x0 = Math.floor((img.width * (1 - fraction)) / 2);
  const y0 = Math.floor((img.height * (1 - fraction)) / 2);
  const x1 = Math.ceil(img.width - x0);
  const y1 = Math.ceil(img.height - y0);
  let differing = 0;
  let total = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * img.width + x) * img.channels;
      const d = Math.abs(img.data[i]! - background[0]) + Math.abs(img.data[i + 1]! - background[1]) + Math.abs(img.data[i + 2]! - background[2]);
      if (d > tolerance) differing++;
      total++;
    }
  }
  return total === 0 ? 0 : differing / total;
}
