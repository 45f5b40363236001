import { describe, expect, it } from 'vitest';
import { drawSelectionHint, fromHalf, HINT_CELL_PX, splatRadii, type HintCamera, type HintScene } from './selection-hint.ts';

const W = 64;
const H = 48;
const TINT = [255, 190, 30] as const;
const COLOUR = ((150 << 24) | (30 << 16) | (190 << 8) | 255) >>> 0;

/** A camera at the origin looking down -z (OpenGL), 90 degrees vertical field of view. */
function camera(): HintCamera {
  const f = 1;
  const aspect = W / H;
  const near = 0.1;
  const far = 100;
  // Column-major projection; the view is the identity.
  const viewProjection = [f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) / (near - far), -1, 0, 0, (2 * far * near) / (near - far), 0];
  return { viewProjection, focalY: f, width: W, height: H };
}

function scene(splats: { at: [number, number, number]; alpha?: number; radius?: number }[]): HintScene {
  return {
    centers: Float32Array.from(splats.flatMap((s) => s.at)),
    colors: Uint8Array.from(splats.flatMap((s) => [10, 20, 30, s.alpha ?? 255])),
    radii: Float32Array.from(splats.map((s) => s.radius ?? 0.001)),
    count: splats.length,
    radius: 1,
  };
}

function bitset(n: number, selected: number[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(n / 8));
  for (const i of selected) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

/** The pixels drawn, as [column, row] pairs. */
function drawnPixels(pixels: Uint32Array): [number, number][] {
  const out: [number, number][] = [];
  for (let p = 0; p < pixels.length; p++) if (pixels[p] !== 0) out.push([p % W, Math.floor(p / W)]);
  return out;
}

/** Where a centre lands, by the plain pinhole formula (the reference for the matrix path). */
function pixelOf([x, y, z]: [number, number, number]): [number, number] {
  const depth = -z;
  const f = 1;
  return [Math.floor(((f / (W / H)) * (x / depth) + 1) * (W / 2)), Math.floor((1 - f * (y / depth)) * (H / 2))];
}

describe('drawSelectionHint', () => {
  it('draws a selected splat at its projected pixel in the tint, and nothing for unselected ones', () => {
    const at: [number, number, number] = [0.3, -0.2, -2];
    const s = scene([{ at }, { at: [-0.5, 0.4, -3] }]);
    const pixels = new Uint32Array(W * H);
    const { drawn, tinted } = drawSelectionHint(s, camera(), bitset(2, [0]), pixels, TINT);
    expect(drawn).toBe(1);
    expect(tinted).toBe(9);
    // The smallest square: the centre pixel and its eight neighbours.
    const [cx, cy] = pixelOf(at);
    expect(drawnPixels(pixels)).toEqual([-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => [cx + dx, cy + dy])));
    expect(pixels[cy * W + cx]).toBe(COLOUR);
  });

  it('sizes the square by the projected radius, reaching at least one pixel and at most six from the centre', () => {
    const at: [number, number, number] = [0, 0, -2];
    const pixels = new Uint32Array(W * H);
    // 0.01 world units at depth 2 with a focal length of H / 2 = 24 px: 0.12, raised to 1 (3 x 3).
    drawSelectionHint(scene([{ at, radius: 0.01 }]), camera(), bitset(1, [0]), pixels, TINT);
    expect(drawnPixels(pixels)).toHaveLength(9);
    // 0.25 at depth 2: 3 px, a 7 x 7 square.
    drawSelectionHint(scene([{ at, radius: 0.25 }]), camera(), bitset(1, [0]), pixels, TINT);
    expect(drawnPixels(pixels)).toHaveLength(49);
    // Far larger: clamped to 6, a 13 x 13 square.
    drawSelectionHint(scene([{ at, radius: 5 }]), camera(), bitset(1, [0]), pixels, TINT);
    expect(drawnPixels(pixels)).toHaveLength(169);
  });

  it('leaves out a selected splat behind an opaque one in its cell, but not behind a faint one or one nearby in depth', () => {
    const behind: [number, number, number] = [0.1, 0.1, -3];
    const front: [number, number, number] = [0.1 * (2 / 3), 0.1 * (2 / 3), -2];
    expect(pixelOf(front)).toEqual(pixelOf(behind));
    const pixels = new Uint32Array(W * H);
    expect(drawSelectionHint(scene([{ at: behind }, { at: front }]), camera(), bitset(2, [0]), pixels, TINT).drawn).toBe(0);
    expect(drawnPixels(pixels)).toEqual([]);
    expect(drawSelectionHint(scene([{ at: behind }, { at: front, alpha: 40 }]), camera(), bitset(2, [0]), pixels, TINT).drawn).toBe(1);
    // The same surface: 1 cm apart in depth on a scene of radius 1 is within the slack.
    const close: [number, number, number] = [behind[0] * (2.99 / 3), behind[1] * (2.99 / 3), -2.99];
    expect(drawSelectionHint(scene([{ at: behind }, { at: close }]), camera(), bitset(2, [0]), pixels, TINT).drawn).toBe(1);
    // Another cell's occluder does not hide it.
    const aside: [number, number, number] = [front[0] + (HINT_CELL_PX * 3) / (W / 2), front[1], -2];
    expect(drawSelectionHint(scene([{ at: behind }, { at: aside }]), camera(), bitset(2, [0]), pixels, TINT).drawn).toBe(1);
  });

  it('skips splats behind the camera and outside the image, and clears what the last hint drew', () => {
    const pixels = new Uint32Array(W * H).fill(7);
    const s = scene([{ at: [0, 0, 2] }, { at: [50, 0, -2] }, { at: [0, 0, -1] }]);
    expect(drawSelectionHint(s, camera(), bitset(3, [0, 1]), pixels, TINT).drawn).toBe(0);
    expect(drawnPixels(pixels)).toEqual([]);
  });

  it('counts each tinted pixel once where squares overlap', () => {
    const s = scene([{ at: [0, 0, -2] }, { at: [0.01, 0, -2] }]);
    const pixels = new Uint32Array(W * H);
    const { drawn, tinted } = drawSelectionHint(s, camera(), bitset(2, [0, 1]), pixels, TINT);
    expect(drawn).toBe(2);
    expect(tinted).toBe(drawnPixels(pixels).length);
    expect(tinted).toBeLessThan(18);
  });

  it('reuses its scratch depth cells between hints', () => {
    const s = scene([{ at: [0, 0, -2] }]);
    const pixels = new Uint32Array(W * H);
    const first = drawSelectionHint(s, camera(), bitset(1, [0]), pixels, TINT);
    const second = drawSelectionHint(s, camera(), bitset(1, [0]), pixels, TINT, 150, first.scratch);
    expect(second.scratch.depth).toBe(first.scratch.depth);
    expect(second.drawn).toBe(1);
  });
});

describe('splatRadii', () => {
  it('takes the square root of the largest diagonal covariance entry, from floats or half-float bits', () => {
    const covariances = [4, 1, 1, 9, 1, 0.25, /* second */ 0.01, 0, 0, 0.04, 0, 0.09];
    expect([...splatRadii(covariances, 2)]).toEqual([3, expect.closeTo(0.3, 6)]);
    // 4, 9 and 0.25 as half floats.
    expect([...splatRadii([0x4400, 0, 0, 0x4880, 0, 0x3400], 1, true)]).toEqual([3]);
  });

  it('reads half floats: normal, subnormal, zero, infinity', () => {
    expect(fromHalf(0x3c00)).toBe(1);
    expect(fromHalf(0xc000)).toBe(-2);
    expect(fromHalf(0x0001)).toBe(2 ** -24);
    expect(fromHalf(0)).toBe(0);
    expect(fromHalf(0x7c00)).toBe(Infinity);
  });
});
