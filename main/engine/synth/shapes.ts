/**
 * Surface primitives that synthetic objects are built from. Gaussians of a trained 3DGS scene sit on
 * surfaces as flat discs, so each primitive samples points on its surface with their normals, and
 * knows its area so a Gaussian budget can be shared out fairly.
 */
import type { Random } from './random.ts';

export type Vec3 = [number, number, number];

export interface SurfaceSample {
  position: Vec3;
  normal: Vec3;
}

export interface Surface {
  /** Surface area in square scene units. */
  area: number;
  sample(rng: Random): SurfaceSample;
}

function rotateZ(v: Vec3, angle: number): Vec3 {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return [c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]];
}

function add(a: Vec3, b: Vec3): Vec3 {
  return [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
}

/** An axis-aligned (then turned about z by `yaw`) box: centre, half extents. `skipBottom` leaves out the face that rests on something. */
export function box(center: Vec3, half: Vec3, yaw = 0, skipBottom = true): Surface {
  const [hx, hy, hz] = half;
  const faces: { area: number; axis: 0 | 1 | 2; sign: 1 | -1 }[] = [];
  const faceArea = [4 * hy * hz, 4 * hx * hz, 4 * hx * hy] as const;
  for (const axis of [0, 1, 2] as const) {
    for (const sign of [1, -1] as const) {
      if (skipBottom && axis === 2 && sign === -1) continue;
      faces.push({ area: faceArea[axis], axis, sign });
    }
  }
  const area = faces.reduce((s, f) => s + f.area, 0);
  return {
    area,
    sample(rng) {
      let r = rng.next() * area;
      let face = faces[faces.length - 1]!;
      for (const f of faces) {
        if (r < f.area) { face = f; break; }
        r -= f.area;
      }
      const local: Vec3 = [rng.uniform(-hx, hx), rng.uniform(-hy, hy), rng.uniform(-hz, hz)];
      local[face.axis] = face.sign * half[face.axis];
      const n: Vec3 = [0, 0, 0];
      n[face.axis] = face.sign;
      return { position: add(center, rotateZ(local, yaw)), normal: rotateZ(n, yaw) };
    },
  };
}

/**
 * A vertical frustum (cylinder when r0 = r1) standing on `base`, height h, with an optional top cap.
 * The lamp shade is a frustum without caps; a mug body is a cylinder with its top open.
 */
export function frustum(base: Vec3, r0: number, r1: number, h: number, topCap: boolean): Surface {
  const slant = Math.hypot(h, r0 - r1);
  const sideArea = Math.PI * (r0 + r1) * slant;
  const capArea = topCap ? Math.PI * r1 * r1 : 0;
  const area = sideArea + capArea;
  return {
    area,
    sample(rng) {
      const theta = rng.uniform(0, 2 * Math.PI);
      const c = Math.cos(theta);
      const s = Math.sin(theta);
      if (rng.next() * area < capArea) {
        const rr = r1 * Math.sqrt(rng.next());
        return { position: [base[0] + rr * c, base[1] + rr * s, base[2] + h], normal: [0, 0, 1] };
      }
      // Sample height so that density is uniform over the side: radius varies linearly along it.
      let t: number;
      if (Math.abs(r0 - r1) < 1e-9) t = rng.next();
      else {
        const u = rng.next();
        t = (Math.sqrt(r0 * r0 + u * (r1 * r1 - r0 * r0)) - r0) / (r1 - r0);
      }
      const r = r0 + (r1 - r0) * t;
      const nz = (r0 - r1) / slant;
      const nr = h / slant;
      return { position: [base[0] + r * c, base[1] + r * s, base[2] + t * h], normal: [nr * c, nr * s, nz] };
    },
  };
}

/** An ellipsoid surface (foliage, a vase belly, pebbles), sampled by normalising Gaussian directions. */
export function ellipsoid(center: Vec3, radii: Vec3): Surface {
  const [a, b, c] = radii;
  // Knud Thomsen's approximation of the ellipsoid area; exactness does not matter for a budget.
  const p = 1.6075;
  const area = 4 * Math.PI * Math.pow((Math.pow(a * b, p) + Math.pow(a * c, p) + Math.pow(b * c, p)) / 3, 1 / p);
  return {
    area,
    sample(rng) {
      let x = rng.normal(), y = rng.normal(), z = rng.normal();
      const l = Math.hypot(x, y, z) || 1;
      x /= l; y /= l; z /= l;
      const n: Vec3 = [x / a, y / b, z / c];
      const nl = Math.hypot(n[0], n[1], n[2]) || 1;
      return { position: [center[0] + a * x, center[1] + b * y, center[2] + c * z], normal: [n[0] / nl, n[1] / nl, n[2] / nl] };
    },
  };
}

/**
 * A half torus in a vertical plane through `center` whose in-plane horizontal direction is `yaw`:
 * a mug handle (ring radius R, tube radius r), bulging away from the mug.
 */
export function handle(center: Vec3, R: number, r: number, yaw: number): Surface {
  const area = 2 * Math.PI * r * Math.PI * R;
  return {
    area,
    sample(rng) {
      const u = rng.uniform(-Math.PI / 2, Math.PI / 2); // around the ring, outward half only
      const v = rng.uniform(0, 2 * Math.PI); // around the tube
      const ring: Vec3 = [Math.cos(u), 0, Math.sin(u)];
      const tube: Vec3 = [Math.cos(v) * ring[0], Math.sin(v), Math.cos(v) * ring[2]];
      const local: Vec3 = [R * ring[0] + r * tube[0], r * tube[1], R * ring[2] + r * tube[2]];
      return { position: add(center, rotateZ(local, yaw)), normal: rotateZ(tube, yaw) };
    },
  };
}

/** A horizontal rectangle at height z (floor), facing up. */
export function plane(center: Vec3, halfX: number, halfY: number): Surface {
  return {
    area: 4 * halfX * halfY,
    sample(rng) {
      return { position: [center[0] + rng.uniform(-halfX, halfX), center[1] + rng.uniform(-halfY, halfY), center[2]], normal: [0, 0, 1] };
    },
  };
}

/** Quaternion (w, x, y, z) turning the local z axis onto unit normal n, so a flat Gaussian lies on the surface. */
export function quaternionFromNormal(n: Vec3): [number, number, number, number] {
  const w = 1 + n[2];
  if (w < 1e-6) return [0, 1, 0, 0];
  const x = -n[1];
  const y = n[0];
  const l = Math.hypot(w, x, y);
  return [w / l, x / l, y / l, 0];
}
