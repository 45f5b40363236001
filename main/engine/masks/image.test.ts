import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImage, encodeRgbPng, longestSideShape, resizeChannels } from './image.ts';

describe('decoding view images', () => {
  it('reads RGB, grey, 16-bit and alpha PNGs to 8-bit RGB (alpha over black)', () => {
    const rgb = decodeImage(encodeRgbPng({ width: 2, height: 1, data: Uint8Array.of(1, 2, 3, 250, 251, 252) }), 'a.png');
    expect(Array.from(rgb.data)).toEqual([1, 2, 3, 250, 251, 252]);
    const grey16 = decodeImage(encodePng({ width: 1, height: 1, data: Uint16Array.of(65535), channels: 1, depth: 16 }), 'g.png');
    expect(Array.from(grey16.data)).toEqual([255, 255, 255]);
    const rgba = decodeImage(encodePng({ width: 1, height: 1, data: Uint8Array.of(200, 100, 50, 128), channels: 4, depth: 8 }), 'r.png');
    expect(Array.from(rgba.data)).toEqual([100, 50, 25]);
  });
  it('reads palette PNGs with 1-, 2-, 4- and 8-bit indices as their palette colours', () => {
    const palette = [[255, 0, 0], [0, 255, 0], [10, 20, 30]];
    for (const depth of [1, 2, 4, 8] as const) {
      // Pixels 0 and 1 use entries 1 and 0, packed at the index depth.
      const row = depth === 8 ? Uint8Array.of(1, 0) : Uint8Array.of((1 << (8 - depth)) & 0xff);
      const bytes = encodePng({ width: 2, height: 1, data: row, channels: 1, depth, palette });
      expect(Array.from(decodeImage(bytes, `p${depth}.png`).data)).toEqual([0, 255, 0, 255, 0, 0]);
    }
  });
  it('reads JPEG', () => {
    const raw = new Uint8Array(8 * 8 * 4).fill(128);
    const jpg = jpeg.encode({ width: 8, height: 8, data: raw }, 95).data;
    const img = decodeImage(new Uint8Array(jpg), 'x.jpg');
    expect([img.width, img.height]).toEqual([8, 8]);
    expect(Math.abs(img.data[0]! - 128)).toBeLessThanOrEqual(2);
  });
  it('names the file in BAD_IMAGE for corrupt or unknown data', () => {
    const png = encodeRgbPng({ width: 4, height: 4, data: new Uint8Array(48) });
    expect(() => decodeImage(png.subarray(0, 30), '/v/broken.png')).toThrow(expect.objectContaining({ code: 'BAD_IMAGE', message: expect.stringContaining('/v/broken.png') }));
    expect(() => decodeImage(new Uint8Array(0), 'e.png')).toThrow(/empty/);
    expect(() => decodeImage(new TextEncoder().encode('GIF89a....'), 'x.gif')).toThrow(/neither PNG nor JPEG/);
  });
});

describe('resampling', () => {
  it("matches SAM's get_preprocess_shape", () => {
    expect(longestSideShape(1920, 1080, 1024)).toEqual({ width: 1024, height: 576 });
    expect(longestSideShape(800, 600, 1024)).toEqual({ width: 1024, height: 768 });
    expect(longestSideShape(1000, 667, 1024)).toEqual({ width: 1024, height: 683 });
  });
  it('keeps flat images flat and averages when downscaling', () => {
    const flat = new Float32Array(30 * 20 * 3).fill(77);
    expect(resizeChannels(flat, 30, 20, 3, 7, 5).every((v) => Math.abs(v - 77) < 1e-4)).toBe(true);
    // Alternating columns 0/100 average to 50 when halved: the filter widens with the scale so
    // every source pixel counts (a plain bilinear lookup would return only 0s or only 100s).
    const stripes = Float32Array.from({ length: 8 }, (_, i) => (i % 2 ? 100 : 0));
    const half = resizeChannels(stripes, 8, 1, 1, 4, 1);
    expect(half[1]).toBeCloseTo(50, 4);
    expect(half[2]).toBeCloseTo(50, 4);
    for (const v of half) expect(Math.abs(v - 50)).toBeLessThan(10); // borders renormalise the clipped filter
  });
});
