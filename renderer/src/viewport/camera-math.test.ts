import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../main/common/random.ts';
import { cameraCenter, lookAtCamera, type Camera } from '../../../main/scene/camera.ts';
import {
  GAUSSIAN_SPLATTING_UP,
  cameraFromPose,
  canvasToViewPixel,
  viewToCanvasPixel,
  frameBounds,
  frustumSegments,
  initialViewDirection,
  pickFrustum,
  poseFromCamera,
  quaternionFromBasis,
  robustBounds,
  sceneUp,
  unprojectPixel,
  upFromCameras,
  type ScreenFrustum,
  type Vec3,
} from './camera-math.ts';

/** Rotates v by the unit quaternion q = (x, y, z, w). */
function rotate(q: [number, number, number, number], v: Vec3): Vec3 {
  const [x, y, z, w] = q;
  const [vx, vy, vz] = v;
  // t = 2 * cross(q.xyz, v); v' = v + w t + cross(q.xyz, t)
  const tx = 2 * (y * vz - z * vy);
  const ty = 2 * (z * vx - x * vz);
  const tz = 2 * (x * vy - y * vx);
  return [vx + w * tx + (y * tz - z * ty), vy + w * ty + (z * tx - x * tz), vz + w * tz + (x * ty - y * tx)];
}

function unit(v: Vec3): Vec3 {
  const l = Math.hypot(...v);
  return [v[0] / l, v[1] / l, v[2] / l];
}

const eye: Vec3 = [3, -2, 5];
const target: Vec3 = [0.5, 0.25, -1];
const cam: Camera = lookAtCamera('v0', eye, target, [0, 0, 1], 640, 480, Math.PI / 3);

describe('poseFromCamera', () => {
  it('puts the viewer at the camera centre, looking at what the camera looked at, upright', () => {
    const pose = poseFromCamera(cam);
    pose.position.forEach((c, i) => expect(c).toBeCloseTo(eye[i]!, 6));
    const forward = rotate(pose.quaternion, [0, 0, -1]);
    const want = unit([target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]]);
    forward.forEach((c, i) => expect(c).toBeCloseTo(want[i]!, 6));
    // The viewer's +y is the image's up: world +z (the up the camera was built with) made
    // perpendicular to the view direction.
    const along = want[2];
    const wantUp = unit([-along * want[0], -along * want[1], 1 - along * want[2]]);
    rotate(pose.quaternion, [0, 1, 0]).forEach((c, i) => expect(c).toBeCloseTo(wantUp[i]!, 6));
    expect(pose.fovYDegrees).toBeCloseTo(60, 6);
    expect(Math.hypot(...pose.quaternion)).toBeCloseTo(1, 9);
  });

  it('quaternionFromBasis handles every branch (180 degree turns about each axis)', () => {
    for (const [x, y, z] of [
      [[1, 0, 0], [0, -1, 0], [0, 0, -1]],
      [[-1, 0, 0], [0, 1, 0], [0, 0, -1]],
      [[-1, 0, 0], [0, -1, 0], [0, 0, 1]],
    ] as [Vec3, Vec3, Vec3][]) {
      const q = quaternionFromBasis(x, y, z);
      rotate(q, [1, 0, 0]).forEach((c, i) => expect(c).toBeCloseTo(x[i]!, 9));
      rotate(q, [0, 1, 0]).forEach((c, i) => expect(c).toBeCloseTo(y[i]!, 9));
    }
  });
});

describe('unprojectPixel and frustumSegments', () => {
  it('the principal point at depth d lies d along the view axis', () => {
    const p = unprojectPixel(cam, cam.cx, cam.cy, 2);
    const c = cameraCenter(cam);
    const dir = unit([target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]]);
    p.forEach((v, i) => expect(v).toBeCloseTo(c[i]! + 2 * dir[i]!, 6));
  });

  it('projects back to the pixel it came from', () => {
    const X = unprojectPixel(cam, 100, 400, 3.5);
    const R = cam.rotation;
    const t = cam.translation;
    const xc = [0, 1, 2].map((r) => R[r * 3]! * X[0] + R[r * 3 + 1]! * X[1] + R[r * 3 + 2]! * X[2] + t[r]!);
    expect((cam.fx * xc[0]!) / xc[2]! + cam.cx).toBeCloseTo(100, 6);
    expect((cam.fy * xc[1]!) / xc[2]! + cam.cy).toBeCloseTo(400, 6);
    expect(xc[2]).toBeCloseTo(3.5, 6);
  });

  it('outlines a frustum with 10 segments starting at the camera centre', () => {
    const seg = frustumSegments(cam, 0.5);
    expect(seg.length).toBe(10 * 6);
    const c = cameraCenter(cam);
    for (let s = 0; s < 4; s++) [0, 1, 2].forEach((i) => expect(seg[s * 6 + i]).toBeCloseTo(c[i]!, 5));
  });
});

describe('upFromCameras and sceneUp', () => {
  const ring = [0, 1, 2, 3].map((k) => lookAtCamera(`v${k}`, [Math.cos(k * 1.5) * 4, Math.sin(k * 1.5) * 4, 1], [0, 0, 0], [0, 0, 1], 64, 48, 1));

  it('averages the cameras image-up directions, and falls back to the 3DGS convention (y down)', () => {
    expect(upFromCameras(ring)[2]).toBeGreaterThan(0.9);
    expect(upFromCameras([])).toEqual([0, -1, 0]);
    expect(GAUSSIAN_SPLATTING_UP).toEqual([0, -1, 0]);
  });

  it('turns the up over when flipped, with or without cameras', () => {
    expect(sceneUp([], false)).toEqual([0, -1, 0]);
    expect(sceneUp([], true)).toEqual([-0, 1, -0]);
    const up = sceneUp(ring, false);
    sceneUp(ring, true).forEach((c, i) => expect(c).toBeCloseTo(-up[i]!, 12));
  });
});

describe('robustBounds', () => {
  /** A unit-cube subject of `n` opaque Gaussians. */
  function cube(n: number): Float32Array {
    const pts = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      pts[i * 3] = (i % 10) / 9;
      pts[i * 3 + 1] = ((i * 7) % 13) / 12;
      pts[i * 3 + 2] = ((i * 3) % 17) / 16;
    }
    return pts;
  }

  it('ignores far floaters that a plain min/max would include, and keeps the subject whole', () => {
    const n = 2000;
    const pts = cube(n);
    for (let i = 0; i < 20; i++) pts.set([1e6, -1e6, 1e6], i * 50 * 3);
    const b = robustBounds(pts);
    for (let a = 0; a < 3; a++) {
      expect(b.min[a]).toBeGreaterThanOrEqual(0);
      expect(b.max[a]).toBeLessThanOrEqual(1);
      // The pad brings back the ends the 90% cut trims: the whole cube is inside.
      expect(b.min[a]).toBeLessThan(0.02);
      expect(b.max[a]).toBeGreaterThan(0.98);
    }
  });

  it('finds the weighted quantiles a full sort finds, ties and zero weights included', () => {
    const rand = mulberry32(5);
    const n = 3001;
    const pts = new Float32Array(n * 3);
    const opacity = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      // Coarse values (many ties) on x, continuous ones on y and z.
      pts.set([Math.floor(rand() * 40), rand() * 10 - 5, rand() ** 3], i * 3);
      opacity[i] = rand() < 0.1 ? 0 : rand();
    }
    for (const mass of [0.9, 0.5, 0.98]) {
      const b = robustBounds(pts, opacity, { mass, pad: 0 });
      for (let a = 0; a < 3; a++) {
        const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => pts[p * 3 + a]! - pts[q * 3 + a]!);
        const total = opacity.reduce((x, w) => x + w, 0);
        const quantile = (target: number) => {
          let acc = 0;
          for (const i of order) {
            acc += opacity[i]!;
            if (acc >= target) return pts[i * 3 + a]!;
          }
          return pts[order[n - 1]! * 3 + a]!;
        };
        expect(b.min[a]).toBe(quantile(((1 - mass) / 2) * total));
        expect(b.max[a]).toBe(quantile((1 - (1 - mass) / 2) * total));
      }
    }
  });

  it('lets a faint haze around the subject count for little, weighted by opacity', () => {
    const subject = 3000;
    const haze = 2000;
    const pts = new Float32Array((subject + haze) * 3);
    pts.set(cube(subject));
    const opacity = new Float32Array(subject + haze).fill(0.9);
    // A shell of faint Gaussians 50 units out: 40% of the rows, 1% of the opacity.
    for (let i = 0; i < haze; i++) {
      const t = (i / haze) * Math.PI * 2;
      const p = (i * 0.61803) % 1;
      pts.set([50 * Math.cos(t) * Math.sin(p * Math.PI), 50 * Math.cos(p * Math.PI), 50 * Math.sin(t) * Math.sin(p * Math.PI)], (subject + i) * 3);
      opacity[subject + i] = 0.01;
    }
    const weighted = robustBounds(pts, opacity);
    const unweighted = robustBounds(pts);
    for (let a = 0; a < 3; a++) {
      expect(weighted.max[a]! - weighted.min[a]!).toBeLessThan(1.5);
      expect(unweighted.max[a]! - unweighted.min[a]!).toBeGreaterThan(20);
    }
  });
});

describe('frameBounds and initialViewDirection', () => {
  it('fits every corner of the box inside the view, with little margin', () => {
    const bounds = { min: [-0.2, -1, -0.05] as Vec3, max: [0.2, 1, 0.05] as Vec3 };
    const dir: Vec3 = [0, 0, 1];
    const fov = 50;
    const aspect = 1.5;
    const { position, target } = frameBounds(bounds, dir, fov, aspect, [0, -1, 0]);
    const tanY = Math.tan((fov * Math.PI) / 360);
    let tightest = 0;
    for (let c = 0; c < 8; c++) {
      const p = [c & 1 ? 0.2 : -0.2, c & 2 ? 1 : -1, c & 4 ? 0.05 : -0.05];
      const depth = p[2]! - position[2];
      const vertical = Math.abs(p[1]! - position[1]) / depth;
      const horizontal = Math.abs(p[0]! - position[0]) / depth;
      expect(vertical).toBeLessThanOrEqual(tanY);
      expect(horizontal).toBeLessThanOrEqual(tanY * aspect);
      tightest = Math.max(tightest, vertical / tanY);
    }
    expect(tightest).toBeGreaterThan(0.9);
    expect(target).toEqual([0, 0, 0]);
  });

  it('looks across the thinnest horizontal axis, from slightly above', () => {
    const bounds = { min: [-0.2, -1, -0.05] as Vec3, max: [0.2, 1, 0.05] as Vec3 };
    const up: Vec3 = [0, -1, 0];
    const dir = initialViewDirection(bounds, up);
    expect(Math.hypot(...dir)).toBeCloseTo(1, 9);
    expect(dir[2]).toBeGreaterThan(0.9);
    expect(dir[0]).toBeCloseTo(0, 9);
    // Looking down: the direction goes against up (y down means towards +y here).
    const along = dir[0] * up[0] + dir[1] * up[1] + dir[2] * up[2];
    expect(Math.asin(-along) * (180 / Math.PI)).toBeCloseTo(15, 6);
  });
});

describe('pickFrustum', () => {
  /** A frustum seen from the side: apex at (x, y), its image 60 px to the right, 40 px tall. */
  const side = (x: number, y: number, distance: number): ScreenFrustum => ({
    corners: [[x, y], [x + 60, y - 20], [x + 60, y - 20], [x + 60, y + 20], [x + 60, y + 20]],
    distance,
  });

  it('picks a frustum by its body, not only its apex', () => {
    const frusta = [side(100, 100, 5)];
    expect(pickFrustum(frusta, 150, 105, 4)).toBe(0);
    // Outside the outline but within the tolerance of its edge.
    expect(pickFrustum(frusta, 163, 100, 4)).toBe(0);
    expect(pickFrustum(frusta, 180, 100, 4)).toBe(-1);
    expect(pickFrustum(frusta, 110, 60, 4)).toBe(-1);
  });

  it('prefers the frustum nearest to the viewer where two overlap, and skips hidden ones', () => {
    const frusta = [side(100, 100, 8), side(120, 100, 3), null];
    expect(pickFrustum(frusta, 150, 100, 4)).toBe(1);
    expect(pickFrustum(frusta, 105, 100, 4)).toBe(0);
    expect(pickFrustum([null, side(100, 100, 1)], 150, 100, 4)).toBe(1);
  });
});

/** Pixel of world point X in `c`: x_cam = R X + t, u = fx x/z + cx, v = fy y/z + cy. */
function project(c: Camera, X: Vec3): [number, number] {
  const R = c.rotation;
  const t = c.translation;
  const xc = R[0]! * X[0] + R[1]! * X[1] + R[2]! * X[2] + t[0]!;
  const yc = R[3]! * X[0] + R[4]! * X[1] + R[5]! * X[2] + t[1]!;
  const zc = R[6]! * X[0] + R[7]! * X[1] + R[8]! * X[2] + t[2]!;
  return [(c.fx * xc) / zc + c.cx, (c.fy * yc) / zc + c.cy];
}

describe('cameraFromPose', () => {
  it('gives back a training camera from the pose the viewer takes for it (same pixels, centred intrinsics)', () => {
    const back = cameraFromPose(poseFromCamera(cam), cam.width, cam.height);
    back.rotation.forEach((v, i) => expect(v).toBeCloseTo(cam.rotation[i]!, 9));
    back.translation.forEach((v, i) => expect(v).toBeCloseTo(cam.translation[i]!, 9));
    expect(back.fy).toBeCloseTo(cam.fy, 9);
    expect(back.fx).toBeCloseTo(cam.fx, 9);
    for (const X of [target, [0, 0, 0], [1, 2, -3]] as Vec3[]) {
      const [u, v] = project(back, X);
      const [u0, v0] = project(cam, X);
      expect(u).toBeCloseTo(u0, 6);
      expect(v).toBeCloseTo(v0, 6);
    }
  });

  it('sees what the viewer sees: the target at the centre, the viewer\'s up towards the top of the image', () => {
    const pose = poseFromCamera(cam);
    const c = cameraFromPose(pose, 800, 500);
    const [u, v] = project(c, target);
    expect(u).toBeCloseTo(400, 6);
    expect(v).toBeCloseTo(250, 6);
    const up = rotate(pose.quaternion, [0, 1, 0]);
    const above = project(c, [target[0] + 0.1 * up[0], target[1] + 0.1 * up[1], target[2] + 0.1 * up[2]]);
    expect(above[1]).toBeLessThan(250);
    expect(above[0]).toBeCloseTo(400, 6);
  });
});

describe('canvasToViewPixel', () => {
  // A view with an off-centre principal point and non-square pixels, shown on a wider canvas.
  const view: Camera = { ...cam, fx: 500, fy: 520, cx: 330, cy: 236 };
  const canvas = { width: 900, height: 600 };

  it('lands where the view itself projects the point the canvas pixel shows', () => {
    const shown = cameraFromPose(poseFromCamera(view), canvas.width, canvas.height);
    for (const X of [target, [0.2, 0.4, -0.8], [1, 0, -2]] as Vec3[]) {
      const [cu, cv] = project(shown, X);
      const [vu, vv] = project(view, X);
      const p = canvasToViewPixel(view, canvas, cu, cv);
      expect(p.x).toBeCloseTo(vu, 6);
      expect(p.y).toBeCloseTo(vv, 6);
      const q = viewToCanvasPixel(view, canvas, vu, vv);
      expect(q.x).toBeCloseTo(cu, 6);
      expect(q.y).toBeCloseTo(cv, 6);
    }
  });
});
