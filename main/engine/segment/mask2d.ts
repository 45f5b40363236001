/**
 * Binary 2D masks (one byte per pixel, non-zero = inside) and the few pure operations that prompts,
 * the oracle and the metrics share.
 */

export interface Mask2D {
  width: number;
  height: number;
  /** Row-major, width * height; non-zero = inside. */
  data: Uint8Array;
}

export function maskFromLabels(labels: Uint16Array, width: number, height: number, ids: Iterable<number>): Mask2D {
  const set = new Set(ids);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < labels.length; i++) if (set.has(labels[i]!)) data[i] = 1;
  return { width, height, data };
}

export function maskArea(m: Mask2D): number {
  let n = 0;
  for (let i = 0; i < m.data.length; i++) if (m.data[i]) n++;
  return n;
}

/** Intersection over union; two empty masks count as identical (1). */
export function maskIoU(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0;
    const y = b[i] !== 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** Half-open pixel box [x0, y0, x1, y1), or undefined for an empty mask. */
export function maskBox(m: Mask2D): [number, number, number, number] | undefined {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let y = 0; y < m.height; y++) {
    for (let x = 0; x < m.width; x++) {
      if (!m.data[y * m.width + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x0 === Infinity ? undefined : [x0, y0, x1 + 1, y1 + 1];
}

export function boxIoU(a: readonly number[], b: readonly number[]): number {
  const ix = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const iy = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = ix * iy;
  const area = (r: readonly number[]) => Math.max(0, r[2]! - r[0]!) * Math.max(0, r[3]! - r[1]!);
  const union = area(a) + area(b) - inter;
  return union <= 0 ? 0 : inter / union;
}

/** Whether pixel (x, y), given in continuous pixel coordinates, falls inside the mask. */
export function maskContains(m: Mask2D, x: number, y: number): boolean {
  const px = Math.floor(x);
  const py = Math.floor(y);
  if (px < 0 || py < 0 || px >= m.width || py >= m.height) return false;
  return m.data[py * m.width + px] !== 0;
}

/**
 * Chamfer (3-4) distance from each inside pixel to the nearest outside pixel or image border, in
 * pixels (approximately Euclidean); 0 outside. Used to put clicks deep inside objects.
 */
export function insideDistance(m: Mask2D): Float32Array {
  const { width: W, height: H, data } = m;
  const d = new Float32Array(W * H);
  const BIG = 1e9;
  for (let i = 0; i < d.length; i++) d[i] = data[i] ? BIG : 0;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= W || y >= H ? 0 : d[y * W + x]!);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (d[i] === 0) continue;
      d[i] = Math.min(d[i]!, at(x - 1, y) + 3, at(x, y - 1) + 3, at(x - 1, y - 1) + 4, at(x + 1, y - 1) + 4);
    }
  }
  for (let y = H - 1; y >= 0; y--) {
    for (let x = W - 1; x >= 0; x--) {
      const i = y * W + x;
      if (d[i] === 0) continue;
      d[i] = Math.min(d[i]!, at(x + 1, y) + 3, at(x, y + 1) + 3, at(x + 1, y + 1) + 4, at(x - 1, y + 1) + 4);
    }
  }
  for (let i = 0; i < d.length; i++) d[i] = d[i]! / 3;
  return d;
}
