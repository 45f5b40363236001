import { describe, expect, it } from 'vitest';
import { flyStep, type CameraAxes } from './fly.ts';

const axes: CameraAxes = { right: [1, 0, 0], up: [0, 1, 0], forward: [0, 0, -1] };

describe('flyStep', () => {
  it('moves along the held directions at half the scene radius per second', () => {
    const step = flyStep(new Set(['KeyW']), axes, 2, 0.05, false);
    expect(step[2]).toBeCloseTo(-0.05, 9);
    expect(step[0]).toBe(0);
  });

  it('normalises diagonals, cancels opposite keys, and speeds up with Shift', () => {
    const diag = flyStep(new Set(['KeyW', 'KeyD']), axes, 1, 0.1, false);
    expect(Math.hypot(...diag)).toBeCloseTo(0.05, 9);
    expect(flyStep(new Set(['KeyW', 'KeyS']), axes, 1, 0.1, false)).toEqual([0, 0, 0]);
    expect(flyStep(new Set(['KeyE']), axes, 1, 0.1, true)[1]).toBeCloseTo(0.2, 9);
  });

  it('caps a stalled frame so the camera does not jump', () => {
    const long = flyStep(new Set(['KeyQ']), axes, 1, 5, false);
    expect(long[1]).toBeCloseTo(-0.05, 9);
  });
});
