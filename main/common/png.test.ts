import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readMask } from '../engine/eval/png.ts';
import { decodeMaskImage } from '../engine/masks/imported.ts';
import { decodePng, encodeGrey16Png, encodeGreyPng, encodeRgbaPng, encodeRgbPng, isPng } from './png.ts';

describe('PNG codecs', () => {
  it('round-trips 8-bit RGB, RGBA, grey and 16-bit grey', () => {
    const rgb = Uint8Array.of(1, 2, 3, 250, 251, 252);
    const a = decodePng(encodeRgbPng(rgb, 2, 1));
    expect([a.width, a.height, a.channels, a.depth]).toEqual([2, 1, 3, 8]);
    expect(Array.from(a.data)).toEqual(Array.from(rgb));
    const rgba = Uint8Array.of(9, 8, 7, 6);
    const b = decodePng(encodeRgbaPng(rgba, 1, 1));
    expect([b.channels, Array.from(b.data)]).toEqual([4, [9, 8, 7, 6]]);
    const grey = Uint8Array.of(0, 128, 255);
    const c = decodePng(encodeGreyPng(grey, 3, 1));
    expect([c.channels, Array.from(c.data)]).toEqual([1, [0, 128, 255]]);
    const labels = Uint16Array.of(0, 300, 65535, 7);
    const d = decodePng(encodeGrey16Png(labels, 2, 2));
    expect(d.depth).toBe(16);
    expect(Array.from(d.data)).toEqual([0, 300, 65535, 7]);
    expect(isPng(encodeGreyPng(grey, 3, 1))).toBe(true);
    expect(isPng(new TextEncoder().encode('GIF89a....'))).toBe(false);
  });
});

describe('one mask-reading rule for imported masks and evaluation', () => {
  it('marks a pixel inside when any colour channel is non-zero, in both readers', async () => {
    // Red-only, green-only, blue-only, black, and white-but-transparent pixels.
    const rgba = Uint8Array.of(200, 0, 0, 255, 0, 90, 0, 255, 0, 0, 1, 255, 0, 0, 0, 255, 255, 255, 255, 0);
    const bytes = encodeRgbaPng(rgba, 5, 1);
    const expected = [1, 1, 1, 0, 0];
    expect(Array.from(decodeMaskImage(bytes, 'm.png').data)).toEqual(expected);
    const path = join(mkdtempSync(join(tmpdir(), 'saga-png-')), '0.png');
    writeFileSync(path, bytes);
    const m = await readMask(path);
    expect([m.width, m.height, Array.from(m.data)]).toEqual([5, 1, expected]);
  });
});
