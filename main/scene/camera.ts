/**
 * One camera model for every source (INRIA cameras.json, COLMAP, transforms.json, generated orbits).
 * Convention: OpenCV / COLMAP. Camera axes x right, y down, z forward; a world point X maps to
 * camera coordinates x_cam = R * X + t, then to pixels u = fx * x/z + cx, v = fy * y/z + cy,
 * in pixel units where the image spans [0, width] x [0, height].
 */
export interface Camera {
  /** A stable name: the image file stem for training views, or e.g. "orbit-3". */
  name: string;
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** World-to-camera rotation R, row-major 3x3 (9 numbers). */
  rotation: number[];
  /** World-to-camera translation t (3 numbers). */
  translation: number[];
  /** Path to the view's image, absolute or relative to the file the camera was read from. */
  imagePath?: string;
  /** Lens distortion as the source described it (COLMAP SIMPLE_RADIAL k1; OPENCV k1 k2 p1 p2). */
  distortion?: { model: 'SIMPLE_RADIAL' | 'OPENCV'; params: number[] };
}

/** Camera centre in world coordinates: C = -R^T t. */
export function cameraCenter(cam: { readonly rotation: readonly number[]; readonly translation: readonly number[] }): [number, number, number] {
  const R = cam.rotation;
  const t = cam.translation;
  return [
    -(R[0]! * t[0]! + R[3]! * t[1]! + R[6]! * t[2]!),
    -(R[1]! * t[0]! + R[4]! * t[1]! + R[7]! * t[2]!),
    -(R[2]! * t[0]! + R[5]! * t[1]! + R[8]! * t[2]!),
  ];
}

/** Horizontal and vertical field of view in radians. */
export function fieldOfView(cam: Camera): { fovX: number; fovY: number } {
  return { fovX: 2 * Math.atan(cam.width / (2 * cam.fx)), fovY: 2 * Math.atan(cam.height / (2 * cam.fy)) };
}

/**
 * A camera at `eye` looking at `target` with the given world up vector (y down in the image means
 * the camera's -y points towards `up`).
 */
export function lookAtCamera(
  name: string,
  eye: [number, number, number],
  target: [number, number, number],
  up: [number, number, number],
  width: number,
  height: number,
  fovYRadians: number,
): Camera {
  const sub = (a: number[], b: number[]) => [a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!];
  const norm = (a: number[]) => {
    const l = Math.hypot(a[0]!, a[1]!, a[2]!) || 1;
    return [a[0]! / l, a[1]! / l, a[2]! / l];
  };
  const cross = (a: number[], b: number[]) => [
    a[1]! * b[2]! - a[2]! * b[1]!,
    a[2]! * b[0]! - a[0]! * b[2]!,
    a[0]! * b[1]! - a[1]! * b[0]!,
  ];
  const z = norm(sub(target, eye)); // forward
  let x = cross(z, up); // right = forward x up  (with y down)
  if (Math.hypot(x[0]!, x[1]!, x[2]!) < 1e-9) x = cross(z, [up[1]!, up[2]!, up[0]!]);
  x = norm(x);
  const y = cross(z, x); // down
  const R = [...x, ...y, ...z];
  const t = [
    -(x[0]! * eye[0] + x[1]! * eye[1] + x[2]! * eye[2]),
    -(y[0]! * eye[0] + y[1]! * eye[1] + y[2]! * eye[2]),
    -(z[0]! * eye[0] + z[1]! * eye[1] + z[2]! * eye[2]),
  ];
  const fy = height / (2 * Math.tan(fovYRadians / 2));
  return { name, width, height, fx: fy, fy, cx: width / 2, cy: height / 2, rotation: R, translation: t };
}
