import { describe, expect, it } from 'vitest';
import { changedShare, foreground, shareDifferentFrom, standingPose } from './pixels.ts';

function solid(width: number, height: number, rgb: [number, number, number]) {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], i * 4);
  return { width, height, data, channels: 4 };
}

describe('shareDifferentFrom', () => {
  it('is 0 on a background-only image and 1 on a foreign colour', () => {
    expect(shareDifferentFrom(solid(40, 30, [16, 18, 22]), [16, 18, 22])).toBe(0);
    expect(shareDifferentFrom(solid(40, 30, [200, 10, 10]), [16, 18, 22])).toBe(1);
  });

  it('counts only the centre box, and tolerates small noise', () => {
    const img = solid(100, 100, [16, 18, 22]);
    // Paint the left half red: the centre box (25..75) is then half red.
    for (let y = 0; y < 100; y++) for (let x = 0; x < 50; x++) img.data.set([200, 0, 0], (y * 100 + x) * 4);
    expect(shareDifferentFrom(img, [16, 18, 22], 0.5)).toBeCloseTo(0.5, 5);
    const noisy = solid(10, 10, [20, 21, 25]);
    expect(shareDifferentFrom(noisy, [16, 18, 22])).toBe(0);
  });
});

describe('changedShare', () => {
  it('counts the pixels that changed colour beyond the tolerance, across channel layouts', () => {
    const a = solid(10, 10, [100, 100, 100]);
    const b = solid(10, 10, [100, 100, 100]);
    expect(changedShare(a, b)).toBe(0);
    for (let x = 0; x < 10; x++) b.data.set([200, 40, 100], x * 4);
    b.data.set([110, 105, 100], 50 * 4);
    expect(changedShare(a, b)).toBeCloseTo(0.1, 10);
    const rgb = { width: 10, height: 10, channels: 3, data: new Uint8Array(300).fill(100) };
    expect(changedShare(a, rgb)).toBe(0);
    expect(() => changedShare(a, solid(5, 5, [0, 0, 0]))).toThrow(/cannot be compared/);
  });
});

describe('foreground and standingPose', () => {
  /** A tall subject: a wide block (the body) under a thin one (the neck), or turned over or on its side. */
  function guitar(turn: 'upright' | 'upside-down' | 'sideways') {
    const img = solid(100, 100, [16, 18, 22]);
    const paint = (x0: number, y0: number, x1: number, y1: number) => {
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) img.data.set([180, 90, 40], (y * 100 + x) * 4);
    };
    if (turn === 'sideways') {
      paint(10, 40, 40, 60);
      paint(41, 47, 90, 53);
    } else if (turn === 'upright') {
      paint(40, 10, 46, 59);
      paint(30, 60, 56, 90);
    } else {
      paint(30, 10, 56, 40);
      paint(40, 41, 46, 90);
    }
    return img;
  }

  it('tells an upright subject from one turned over or on its side', () => {
    for (const turn of ['upright', 'upside-down', 'sideways'] as const) expect(standingPose(foreground(guitar(turn), [16, 18, 22]))).toBe(turn);
    expect(standingPose(foreground(solid(10, 10, [16, 18, 22]), [16, 18, 22]))).toBe('sideways');
  });
});
