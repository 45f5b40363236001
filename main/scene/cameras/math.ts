/**
 * Pure camera geometry shared by the readers: rotations as row-major 3x3 arrays, quaternions as
 * (w, x, y, z). Everything here is plain arithmetic on numbers so every reader uses the same formulas.
 */
import { cameraCenter, type Camera } from '../camera.ts';

export type Vec3 = [number, number, number];

/**
 * Rotation matrix (row-major) of a quaternion (w, x, y, z). The quaternion is normalised first
 * because tools write it with a few digits and COLMAP itself normalises on load.
 */
export function quaternionToMatrix(qw: number, qx: number, qy: number, qz: number): number[] {
  const n = Math.hypot(qw, qx, qy, qz);
  const w = qw / n;
  const x = qx / n;
  const y = qy / n;
  const z = qz / n;
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

/** Quaternion (w, x, y, z) of a rotation matrix (row-major), with w >= 0. */
export function matrixToQuaternion(R: readonly number[]): [number, number, number, number] {
  const [m00, m01, m02, m10, m11, m12, m20, m21, m22] = R as [number, number, number, number, number, number, number, number, number];
  const trace = m00 + m11 + m22;
  let w: number, x: number, y: number, z: number;
  // Shepperd's choice of the largest diagonal term keeps the square root away from zero.
  if (trace > 0) {
    const s = 2 * Math.sqrt(trace + 1);
    w = s / 4;
    x = (m21 - m12) / s;
    y = (m02 - m20) / s;
    z = (m10 - m01) / s;
  } else if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    w = (m21 - m12) / s;
    x = s / 4;
    y = (m01 + m10) / s;
    z = (m02 + m20) / s;
  } else if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    w = (m02 - m20) / s;
    x = (m01 + m10) / s;
    y = s / 4;
    z = (m12 + m21) / s;
  } else {
    const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
    w = (m10 - m01) / s;
    x = (m02 + m20) / s;
    y = (m12 + m21) / s;
    z = s / 4;
  }
  return w < 0 ? [-w, -x, -y, -z] : [w, x, y, z];
}

export function transpose3(R: readonly number[]): number[] {
  return [R[0]!, R[3]!, R[6]!, R[1]!, R[4]!, R[7]!, R[2]!, R[5]!, R[8]!];
}

export function mulMatVec3(R: readonly number[], v: readonly number[]): Vec3 {
  return [
    R[0]! * v[0]! + R[1]! * v[1]! + R[2]! * v[2]!,
    R[3]! * v[0]! + R[4]! * v[1]! + R[5]! * v[2]!,
    R[6]! * v[0]! + R[7]! * v[1]! + R[8]! * v[2]!,
  ];
}

/**
 * World-to-camera (R, t) from a camera-to-world pose given as rotation (row-major) and centre:
 * R = Rc2w^T, t = -R C.
 */
export function worldToCameraFromPose(c2wRotation: readonly number[], center: readonly number[]): { rotation: number[]; translation: number[] } {
  const rotation = transpose3(c2wRotation);
  const rc = mulMatVec3(rotation, center);
  return { rotation, translation: [-rc[0], -rc[1], -rc[2]] };
}

/**
 * Pixel coordinates (u, v) and camera-space depth of a world point, ignoring lens distortion
 * (the readers keep distortion parameters but the rasteriser works with undistorted pinhole views).
 */
export function projectPoint(cam: Camera, point: readonly number[]): { u: number; v: number; depth: number } {
  const p = mulMatVec3(cam.rotation, point);
  const x = p[0] + cam.translation[0]!;
  const y = p[1] + cam.translation[1]!;
  const z = p[2] + cam.translation[2]!;
  return { u: (cam.fx * x) / z + cam.cx, v: (cam.fy * y) / z + cam.cy, depth: z };
}

/** Largest deviation of R R^T from the identity: near 0 for a proper rotation. */
export function orthonormalityError(R: readonly number[]): number {
  let worst = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let dot = 0;
      for (let k = 0; k < 3; k++) dot += R[i * 3 + k]! * R[j * 3 + k]!;
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

/** Determinant of a row-major 3x3 matrix (a mirror, det -1, is not a camera rotation). */
export function det3(R: readonly number[]): number {
  return (
    R[0]! * (R[4]! * R[8]! - R[5]! * R[7]!) -
    R[1]! * (R[3]! * R[8]! - R[5]! * R[6]!) +
    R[2]! * (R[3]! * R[7]! - R[4]! * R[6]!)
  );
}

/** Camera centre C = -R^T t of a world-to-camera pose. */
export function cameraCenterOf(rotation: readonly number[], translation: readonly number[]): Vec3 {
  return cameraCenter({ rotation, translation });
}

/**
 * The same camera for an image resampled to width x height (e.g. the images_2 / images_4 folders
 * 3DGS trains on while cameras.json and COLMAP keep full-size intrinsics). Pixel coordinates scale
 * by width'/width and height'/height, so the field of view is unchanged.
 */
export function scaleCamera(cam: Camera, width: number, height: number): Camera {
  const sx = width / cam.width;
  const sy = height / cam.height;
  return { ...cam, width, height, fx: cam.fx * sx, cx: cam.cx * sx, fy: cam.fy * sy, cy: cam.cy * sy };
}

/** A similarity transform of world points: p' = scale * (rotation p + translation). */
export interface WorldTransform {
  /** Row-major 3x3, a proper rotation. */
  rotation: number[];
  translation: number[];
  scale: number;
}

/**
 * The camera that sees the transformed world as `cam` saw the original: centre C' = s (A C + b),
 * camera-to-world rotation A Rc2w, hence world-to-camera R' = R A^T and t' = -R' C'. Intrinsics
 * are unchanged (pixels do not move).
 */
export function transformCamera(cam: Camera, world: WorldTransform): Camera {
  const A = world.rotation;
  const c = cameraCenterOf(cam.rotation, cam.translation);
  const ac = mulMatVec3(A, c);
  const center: Vec3 = [
    world.scale * (ac[0] + world.translation[0]!),
    world.scale * (ac[1] + world.translation[1]!),
    world.scale * (ac[2] + world.translation[2]!),
  ];
  const R = cam.rotation;
  // R' = R A^T: row r of R' is A times row r of R.
  const rotation = [0, 1, 2].flatMap((r) => mulMatVec3(A, [R[r * 3]!, R[r * 3 + 1]!, R[r * 3 + 2]!]));
  const rc = mulMatVec3(rotation, center);
  return { ...cam, rotation, translation: [-rc[0], -rc[1], -rc[2]] };
}
