import { describe, expect, it } from 'vitest';
import { lookAtCamera, type Camera } from '../../main/scene/camera.ts';
import { boxPrompt, clickPoint, isClick, lassoPrompt, promptInView, selectionMode, strokePrompt, type Modifiers } from './prompt-gesture.ts';
import { viewToCanvasPixel } from './viewport/camera-math.ts';

const plain: Modifiers = { shiftKey: false, ctrlKey: false, metaKey: false, altKey: false };
const canvas = { width: 400, height: 300 };

describe('modifiers', () => {
  it('plain replaces, Shift adds, Ctrl or Cmd subtracts, both intersect', () => {
    expect(selectionMode(plain)).toBe('replace');
    expect(selectionMode({ ...plain, shiftKey: true })).toBe('add');
    expect(selectionMode({ ...plain, ctrlKey: true })).toBe('subtract');
    expect(selectionMode({ ...plain, metaKey: true })).toBe('subtract');
    expect(selectionMode({ ...plain, shiftKey: true, ctrlKey: true })).toBe('intersect');
    // Alt marks a negative point; it does not change how the selection combines.
    expect(selectionMode({ ...plain, altKey: true })).toBe('replace');
  });

  it('a click is positive, with Alt negative, and stays inside the canvas', () => {
    expect(clickPoint({ x: 10, y: 20 }, plain, canvas)).toEqual({ x: 10, y: 20, label: 1 });
    expect(clickPoint({ x: 10, y: 20 }, { ...plain, altKey: true }, canvas).label).toBe(0);
    const edge = clickPoint({ x: 400, y: -1 }, plain, canvas);
    expect(edge.x).toBeLessThan(400);
    expect(edge.y).toBe(0);
  });

  it('a press that barely moved is a click; a longer one is a drag (which orbits with the Click tool)', () => {
    expect(isClick({ x: 5, y: 5 }, { x: 7, y: 7 })).toBe(true);
    expect(isClick({ x: 5, y: 5 }, { x: 5, y: 12 })).toBe(false);
  });
});

describe('scribble', () => {
  it('keeps a point every few pixels, the ends always', () => {
    const path = Array.from({ length: 101 }, (_, i) => ({ x: 10 + i * 0.5, y: 50 }));
    const p = strokePrompt(path, canvas)!;
    expect(p.kind).toBe('scribble');
    if (p.kind !== 'scribble') return;
    expect(p.points[0]).toEqual({ x: 10, y: 50, label: 1 });
    expect(p.points.at(-1)).toEqual({ x: 60, y: 50, label: 1 });
    expect(p.points.length).toBeGreaterThan(10);
    expect(p.points.length).toBeLessThan(25);
    for (let i = 1; i < p.points.length; i++) expect(p.points[i]!.x).toBeGreaterThan(p.points[i - 1]!.x);
  });

  it('thins a very long stroke to at most 200 points and leaves none outside the canvas', () => {
    const path = Array.from({ length: 5000 }, (_, i) => ({ x: (i * 7) % 420 - 10, y: (i * 3) % 310 }));
    const p = strokePrompt(path, canvas)!;
    if (p.kind !== 'scribble') throw new Error('expected a scribble');
    expect(p.points.length).toBeLessThanOrEqual(200);
    for (const q of p.points) {
      expect(q.x).toBeGreaterThanOrEqual(0);
      expect(q.x).toBeLessThan(400);
      expect(q.y).toBeLessThan(300);
    }
  });

  it('a stroke that never left its first pixels is no stroke', () => {
    expect(strokePrompt([{ x: 3, y: 3 }, { x: 3.5, y: 3 }], canvas)).toBeNull();
    expect(strokePrompt([], canvas)).toBeNull();
  });
});

describe('box', () => {
  it('orders the corners and clips the box to the canvas', () => {
    expect(boxPrompt({ x: 120, y: 90 }, { x: 20, y: 10 }, canvas)).toEqual({ kind: 'box', box: [20, 10, 120, 90] });
    expect(boxPrompt({ x: -30, y: 250 }, { x: 50, y: 400 }, canvas)).toEqual({ kind: 'box', box: [0, 250, 50, 300] });
  });

  it('a sliver is a slip, not a box', () => {
    expect(boxPrompt({ x: 10, y: 10 }, { x: 100, y: 12 }, canvas)).toBeNull();
  });
});

describe('lasso', () => {
  it('fills the outline: a square covers its area, nothing outside it', () => {
    const square = [{ x: 100, y: 50 }, { x: 200, y: 50 }, { x: 200, y: 150 }, { x: 100, y: 150 }];
    const p = lassoPrompt(square, canvas)!;
    if (p.kind !== 'mask') throw new Error('expected a mask');
    expect([p.width, p.height]).toEqual([400, 300]);
    let inside = 0;
    for (let y = 0; y < p.height; y++) {
      for (let x = 0; x < p.width; x++) {
        const v = p.data[y * p.width + x]!;
        inside += v;
        if (v) {
          expect(x).toBeGreaterThanOrEqual(100);
          expect(x).toBeLessThan(200);
          expect(y).toBeGreaterThanOrEqual(50);
          expect(y).toBeLessThan(150);
        }
      }
    }
    expect(inside).toBe(100 * 100);
  });

  it('leaves the hole of a bow tie (even-odd) and scales a large canvas down to 512 on the long side', () => {
    const big = { width: 1024, height: 512 };
    const bow = [{ x: 0, y: 0 }, { x: 1024, y: 512 }, { x: 1024, y: 0 }, { x: 0, y: 512 }];
    const p = lassoPrompt(bow, big)!;
    if (p.kind !== 'mask') throw new Error('expected a mask');
    expect([p.width, p.height]).toEqual([512, 256]);
    // Left and right triangles are in; the top and bottom middle are out.
    expect(p.data[128 * 512 + 20]).toBe(1);
    expect(p.data[128 * 512 + 490]).toBe(1);
    expect(p.data[5 * 512 + 256]).toBe(0);
    expect(p.data[250 * 512 + 256]).toBe(0);
  });

  it('too small or too few points: no mask', () => {
    expect(lassoPrompt([{ x: 1, y: 1 }, { x: 2, y: 2 }], canvas)).toBeNull();
    expect(lassoPrompt([{ x: 1, y: 1 }, { x: 3, y: 1 }, { x: 2, y: 3 }], canvas)).toBeNull();
  });
});

describe('promptInView', () => {
  const view: Camera = { ...lookAtCamera('v3', [0, 0, -4], [0, 0, 0], [0, -1, 0], 96, 72, Math.PI / 3), cx: 50, cy: 35 };
  const wide = { width: 800, height: 450 };

  it('moves clicks, strokes and boxes into the view\'s pixels', () => {
    const a = viewToCanvasPixel(view, wide, 20, 30);
    const b = viewToCanvasPixel(view, wide, 70, 60);
    const points = promptInView({ kind: 'points', points: [{ ...a, label: 1 }, { ...b, label: 0 }] }, wide, view);
    expect(points?.kind).toBe('points');
    if (points?.kind !== 'points') return;
    expect(points.points[0]!.x).toBeCloseTo(20, 9);
    expect(points.points[0]!.y).toBeCloseTo(30, 9);
    expect(points.points[1]!.label).toBe(0);
    const box = promptInView({ kind: 'box', box: [a.x, a.y, b.x, b.y] }, wide, view);
    if (box?.kind !== 'box') throw new Error('expected a box');
    box.box.forEach((v, i) => expect(v).toBeCloseTo([20, 30, 70, 60][i]!, 9));
    // A SAM prompt stays one in the view.
    expect(promptInView({ kind: 'box', box: [a.x, a.y, b.x, b.y], sam: true }, wide, view)).toMatchObject({ kind: 'box', sam: true });
    expect(promptInView({ kind: 'points', points: [{ ...a, label: 1 }], sam: true }, wide, view)).toMatchObject({ kind: 'points', sam: true });
  });

  it('is null when the prompt reaches past the view\'s image, or for a mask', () => {
    // The canvas is wider than the view: its left edge shows what the view did not.
    expect(promptInView({ kind: 'points', points: [{ x: 1, y: 225, label: 1 }] }, wide, view)).toBeNull();
    expect(promptInView({ kind: 'box', box: [1, 100, 400, 300] }, wide, view)).toBeNull();
    expect(promptInView({ kind: 'mask', width: 2, height: 2, data: new Uint8Array(4) }, wide, view)).toBeNull();
  });
});
