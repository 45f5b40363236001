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

/**
 * Share (0..1) of pixels whose colour differs between two pictures of the same size by more than
 * `tolerance` (sum of absolute RGB differences): how much of a view a recolour changed.
 */
export function changedShare(a: Image, b: Image, tolerance = 30): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`Pictures of ${a.width}x${a.height} and ${b.width}x${b.height} cannot be compared pixel by pixel.`);
  let changed = 0;
  for (let p = 0; p < a.width * a.height; p++) {
    const i = p * a.channels;
    const j = p * b.channels;
    const d = Math.abs(a.data[i]! - b.data[j]!) + Math.abs(a.data[i + 1]! - b.data[j + 1]!) + Math.abs(a.data[i + 2]! - b.data[j + 2]!);
    if (d > tolerance) changed++;
  }
  return a.width * a.height === 0 ? 0 : changed / (a.width * a.height);
}

/** Where the picture's subject is: the pixels farther than `tolerance` from `background`. */
export interface Foreground {
  /** Pixels counted. */
  count: number;
  /** The box holding the central 98% of those pixels along each axis (a stray splat does not stretch it). */
  box: { x0: number; y0: number; x1: number; y1: number };
  /** Their mean position. */
  centroid: [number, number];
}

/**
 * `margin`: pixels this close to the image's edge are left out (a screenshot of an element at a
 * fractional CSS offset catches a row of its neighbour, here the status bar's border).
 */
export function foreground(img: Image, background: readonly [number, number, number], tolerance = 40, margin = 2): Foreground {
  let count = 0;
  let sx = 0;
  let sy = 0;
  const columns = new Uint32Array(img.width);
  const rows = new Uint32Array(img.height);
  for (let y = margin; y < img.height - margin; y++) {
    for (let x = margin; x < img.width - margin; x++) {
      const i = (y * img.width + x) * img.channels;
      const d = Math.abs(img.data[i]! - background[0]) + Math.abs(img.data[i + 1]! - background[1]) + Math.abs(img.data[i + 2]! - background[2]);
      if (d <= tolerance) continue;
      count++;
      sx += x;
      sy += y;
      columns[x]!++;
      rows[y]!++;
    }
  }
  /** First and last index at which the running count passes 1% and 99% of the total. */
  const central = (histogram: Uint32Array): [number, number] => {
    let acc = 0;
    let lo = -1;
    let hi = -1;
    for (let i = 0; i < histogram.length; i++) {
      acc += histogram[i]!;
      if (lo < 0 && acc > 0.01 * count) lo = i;
      if (hi < 0 && acc >= 0.99 * count) hi = i;
    }
    return [lo, hi];
  };
  const [x0, x1] = central(columns);
  const [y0, y1] = central(rows);
  return { count, box: { x0, y0, x1, y1 }, centroid: count ? [sx / count, sy / count] : [Number.NaN, Number.NaN] };
}

/**
 * How a standing subject whose mass sits low (the guitar on its stand: body below, neck above)
 * shows: 'upright', 'upside-down', or 'sideways' when it is not taller than wide. Its mass centre
 * lies below the middle of its box when upright.
 */
export function standingPose(fg: Foreground): 'upright' | 'upside-down' | 'sideways' {
  const width = fg.box.x1 - fg.box.x0 + 1;
  const height = fg.box.y1 - fg.box.y0 + 1;
  if (fg.count === 0 || height < 1.5 * width) return 'sideways';
  return fg.centroid[1] > (fg.box.y0 + fg.box.y1) / 2 ? 'upright' : 'upside-down';
}
