/**
 * Fly movement (WASD, with Q/E for down/up) as a pure function of the held keys, the camera's
 * axes, the scene size and the elapsed time, so the render loop only applies the result.
 */
import type { Vec3 } from './camera-math.ts';

export type FlyDirection = 'forward' | 'back' | 'left' | 'right' | 'up' | 'down';

/** Keys (KeyboardEvent.code) that move the camera, with the camera-space direction they move in. */
export const FLY_KEYS: Readonly<Record<string, FlyDirection>> = {
  KeyW: 'forward',
  KeyS: 'back',
  KeyA: 'left',
  KeyD: 'right',
  KeyE: 'up',
  KeyQ: 'down',
};

export interface CameraAxes {
  /** Unit vector pointing right on screen. */
  right: Vec3;
  /** Unit vector pointing up on screen. */
  up: Vec3;
  /** Unit vector the camera looks along. */
  forward: Vec3;
}

/**
 * World displacement for one frame. Speed is a fraction of the scene radius per second so the
 * same keys feel alike in a room-sized capture and a city block; Shift moves four times faster.
 */
export function flyStep(held: ReadonlySet<string>, axes: CameraAxes, sceneRadius: number, dtSeconds: number, fast: boolean): Vec3 {
  const out: Vec3 = [0, 0, 0];
  const add = (v: Vec3, s: number) => {
    out[0] += v[0] * s;
    out[1] += v[1] * s;
    out[2] += v[2] * s;
  };
  for (const code of held) {
    switch (FLY_KEYS[code]) {
      case 'forward': add(axes.forward, 1); break;
      case 'back': add(axes.forward, -1); break;
      case 'right': add(axes.right, 1); break;
      case 'left': add(axes.right, -1); break;
      case 'up': add(axes.up, 1); break;
      case 'down': add(axes.up, -1); break;
      default: break;
    }
  }
  const len = Math.hypot(out[0], out[1], out[2]);
  if (len === 0) return out;
  // Clamp dt so a stalled frame (tab switch, slow software GL) does not teleport the camera.
  const dt = Math.min(dtSeconds, 0.1);
  const speed = 0.5 * Math.max(sceneRadius, 1e-3) * (fast ? 4 : 1) * dt;
  return [(out[0] / len) * speed, (out[1] / len) * speed, (out[2] / len) * speed];
}
