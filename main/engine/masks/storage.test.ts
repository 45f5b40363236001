import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeFloat16,
  downsampleMask,
  encodeFloat16,
  fromHalf,
  maskBox,
  maskGridSize,
  packMask,
  readManifest,
  readPreparedFeatures,
  readPreparedMasks,
  toHalf,
  unpackMask,
  viewKey,
  writePreparedView,
} from './storage.ts';

describe('mask grid', () => {
  it('keeps the aspect ratio with about 200x200 pixels and never upscales', () => {
    expect(maskGridSize(800, 600)).toEqual({ width: 231, height: 173 });
    expect(maskGridSize(1920, 1080)).toEqual({ width: 267, height: 150 });
    expect(maskGridSize(1000, 1000)).toEqual({ width: 200, height: 200 });
    expect(maskGridSize(120, 90)).toEqual({ width: 120, height: 90 });
  });
});

describe('bit packing', () => {
  it('round-trips, LSB first', () => {
    const m = Uint8Array.from({ length: 21 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const bits = packMask(m);
    expect(bits.length).toBe(3);
    expect(bits[0]).toBe(0b01001001);
    expect(Array.from(unpackMask(bits, 21))).toEqual(Array.from(m));
  });
});

describe('float16', () => {
  it('encodes exact values, rounds to nearest even, handles subnormals and overflow', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(70000)).toBe(0x7c00);
    expect(toHalf(2 ** -24)).toBe(0x0001);
    expect(fromHalf(toHalf(3 * 2 ** -20))).toBe(3 * 2 ** -20); // subnormal, exactly representable
    expect(toHalf(0)).toBe(0);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and 1+2^-10: ties to even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
    for (const v of [0.1, -3.14159, 1234.5, 1e-3]) {
      const back = fromHalf(toHalf(v));
      expect(Math.abs(back - v) / Math.abs(v)).toBeLessThan(2 ** -10);
    }
    const vals = Float32Array.of(0.5, -0.25, 7);
    expect(Array.from(decodeFloat16(encodeFloat16(vals)))).toEqual([0.5, -0.25, 7]);
  });
});

describe('downsampling masks', () => {
  it('keeps a pixel when at least half its source area is inside', () => {
    const w = 4, h = 4;
    const m = new Uint8Array(16);
    m[0] = m[1] = m[4] = 1; // 3 of the top-left 2x2 block
    m[2] = 1; // 1 of the top-right block
    expect(Array.from(downsampleMask(m, w, h, 2, 2))).toEqual([1, 0, 0, 0]);
    // Non-integer ratio: 3 -> 2 splits the middle pixel.
    const row = Uint8Array.of(1, 1, 0);
    expect(Array.from(downsampleMask(row, 3, 1, 2, 1))).toEqual([1, 0]);
  });
  it('finds inclusive boxes', () => {
    const m = new Uint8Array(12);
    m[1 * 4 + 2] = 1;
    m[2 * 4 + 1] = 1;
    expect(maskBox(m, 4, 3)).toEqual([1, 1, 2, 2]);
    expect(maskBox(new Uint8Array(4), 2, 2)).toEqual([0, 0, -1, -1]);
  });
});

describe('prepared view files', () => {
  it('writes masks, features and the manifest last, and reads them back', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'saga-store-')), viewKey(7, 'a view/with:odd*chars'));
    try {
      expect(dir.endsWith('0007-a_view_with_odd_chars')).toBe(true);
      const a = Uint8Array.from({ length: 15 }, (_, i) => i & 1);
      const b = Uint8Array.from({ length: 15 }, (_, i) => (i < 4 ? 1 : 0));
      const feats = Float32Array.from({ length: 2 * 2 * 2 }, (_, i) => i / 4);
      writePreparedView(
        dir,
        {
          view: 'v',
          source: 'auto',
          sourceDetail: 'x',
          inputKey: 'k',
          image: { path: '/x.png', width: 5, height: 3 },
          maskWidth: 5,
          maskHeight: 3,
          masks: [
            { area: 7, level: 0, box: [0, 0, 4, 2] },
            { area: 4, level: 1, box: [0, 0, 3, 0] },
          ],
          features: { file: 'features.f16', channels: 2, height: 2, width: 2, dtype: 'float16', kind: 'classical', frame: { size: 1024, width: 1024, height: 614 } },
          elapsedMs: 1,
        },
        [packMask(a), packMask(b)],
        encodeFloat16(feats),
      );
      expect(readdirSync(dir).sort()).toEqual(['features.f16', 'manifest.json', 'masks.bin']);
      const m = readManifest(dir)!;
      expect(m.version).toBe(1);
      const masks = readPreparedMasks(dir, m).map((bits) => Array.from(unpackMask(bits, 15)));
      expect(masks).toEqual([Array.from(a), Array.from(b)]);
      expect(Array.from(readPreparedFeatures(dir, m)!)).toEqual(Array.from(feats));

      // Prepared again (forced) from a source without features: the old feature file goes too.
      writePreparedView(dir, { ...m, sourceDetail: 'imported', source: 'imported', features: null }, [packMask(a)], null);
      expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'masks.bin']);
      const again = readManifest(dir)!;
      expect(again.features).toBeNull();
      expect(readPreparedFeatures(dir, again)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
