/**
 * `transforms.json` in its three common dialects: nerfstudio (fl_x, fl_y, cx, cy, w, h, lens
 * terms, globally or per frame), instant-ngp (the same keys globally, often with camera_angle_x)
 * and the Blender synthetic scenes (camera_angle_x only; image size from the PNGs; file paths
 * without extension). Frames hold camera-to-world matrices in the OpenGL convention (x right,
 * y up, z backwards); our cameras use OpenCV axes, so the y and z camera axes are flipped.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import type { Camera } from '../camera.ts';
import { badCameras, finiteNumber, imageDimension, IMAGE_EXTENSIONS, positiveFocal, readCameraFile } from './common.ts';
import { readImageSize } from './image-size.ts';
import { det3, orthonormalityError, worldToCameraFromPose, type WorldTransform } from './math.ts';

const ROTATION_TOLERANCE = 1e-3;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Per-frame value, else the file-wide one (nerfstudio allows either). */
function lookup(frame: Record<string, unknown>, top: Record<string, unknown>, key: string): unknown {
  return frame[key] !== undefined ? frame[key] : top[key];
}

/** A frame's image: the path as written, or with an image extension added when the file has none (Blender). */
function resolveFramePath(folder: string, filePath: string): string {
  const path = resolve(folder, filePath);
  if (existsSync(path) || IMAGE_EXTENSIONS.has(extname(path).toLowerCase())) return path;
  for (const ext of ['.png', '.jpg', '.jpeg', '.PNG', '.JPG', '.exr']) {
    if (existsSync(path + ext)) return path + ext;
  }
  // Blender's synthetic scenes name PNGs without extension; that is the likeliest file when absent.
  return path + '.png';
}

/** Parses the text of a transforms.json; `file` is its absolute path. */
export async function parseTransforms(text: string, file: string): Promise<Camera[]> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw badCameras(file, `it is not valid JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
  if (!isRecord(data) || !Array.isArray(data.frames)) {
    throw badCameras(file, 'a transforms.json must be an object with a "frames" list.');
  }
  if (data.frames.length === 0) throw badCameras(file, 'the "frames" list is empty.');
  const top = data;
  const folder = dirname(file);
  const cameras: Camera[] = [];
  for (const [i, frame] of data.frames.entries()) {
    if (!isRecord(frame)) throw badCameras(file, `frame ${i} is not an object.`);
    const filePath = frame.file_path;
    if (typeof filePath !== 'string' || filePath === '') throw badCameras(file, `frame ${i} has no file_path.`);
    const at = `frame ${i} (${filePath})`;
    // Files written on Windows use backslashes; they are folder separators there, not name characters.
    const imagePath = resolveFramePath(folder, filePath.replace(/\\/g, '/'));

    let width: number;
    let height: number;
    const w = lookup(frame, top, 'w');
    const h = lookup(frame, top, 'h');
    if (w !== undefined && h !== undefined) {
      width = imageDimension(file, `${at} w`, w);
      height = imageDimension(file, `${at} h`, h);
    } else {
      const size = existsSync(imagePath) ? await readImageSize(imagePath) : undefined;
      if (!size) {
        throw badCameras(file, `${at} gives no image size (w, h) and its image ${imagePath} is missing or not a PNG/JPEG; add "w" and "h".`);
      }
      width = size.width;
      height = size.height;
    }

    const flX = lookup(frame, top, 'fl_x');
    const flY = lookup(frame, top, 'fl_y');
    const angleX = lookup(frame, top, 'camera_angle_x');
    const angleY = lookup(frame, top, 'camera_angle_y');
    const fromAngle = (angle: unknown, pixels: number, key: string) => {
      const a = finiteNumber(file, `${at} ${key}`, angle);
      if (a <= 0 || a >= Math.PI) throw badCameras(file, `${at} ${key} must be an angle in radians between 0 and pi (found ${a}).`);
      return pixels / (2 * Math.tan(a / 2));
    };
    let fx: number | undefined;
    if (flX !== undefined) fx = positiveFocal(file, `${at} fl_x`, flX);
    else if (angleX !== undefined) fx = fromAngle(angleX, width, 'camera_angle_x');
    let fy: number | undefined;
    if (flY !== undefined) fy = positiveFocal(file, `${at} fl_y`, flY);
    else if (angleY !== undefined) fy = fromAngle(angleY, height, 'camera_angle_y');
    fx ??= fy;
    fy ??= fx;
    if (fx === undefined || fy === undefined) {
      throw badCameras(file, `${at} has no focal length: give fl_x/fl_y or camera_angle_x.`);
    }
    const cxValue = lookup(frame, top, 'cx');
    const cyValue = lookup(frame, top, 'cy');
    const cx = cxValue === undefined ? width / 2 : finiteNumber(file, `${at} cx`, cxValue);
    const cy = cyValue === undefined ? height / 2 : finiteNumber(file, `${at} cy`, cyValue);

    const matrix = frame.transform_matrix;
    if (!Array.isArray(matrix) || (matrix.length !== 4 && matrix.length !== 3)) {
      throw badCameras(file, `${at} transform_matrix must be a 4x4 (or 3x4) list of rows.`);
    }
    const m = matrix.map((row: unknown, r) => {
      if (!Array.isArray(row) || row.length !== 4) throw badCameras(file, `${at} transform_matrix row ${r} must hold 4 numbers.`);
      return row.map((v: unknown, c) => finiteNumber(file, `${at} transform_matrix[${r}][${c}]`, v));
    });
    if (m.length === 4 && (Math.abs(m[3]![0]!) > 1e-6 || Math.abs(m[3]![1]!) > 1e-6 || Math.abs(m[3]![2]!) > 1e-6 || Math.abs(m[3]![3]! - 1) > 1e-6)) {
      throw badCameras(file, `${at} transform_matrix is not a rigid pose (its last row must be 0 0 0 1).`);
    }
    // OpenGL camera axes (y up, z back) to OpenCV (y down, z forward): negate columns 1 and 2.
    const c2w = [0, 1, 2].flatMap((r) => [m[r]![0]!, -m[r]![1]!, -m[r]![2]!]);
    if (orthonormalityError(c2w) > ROTATION_TOLERANCE || det3(c2w) <= 0) {
      throw badCameras(file, `${at} transform_matrix has a rotation part that is not a rotation (scaled or mirrored poses are not supported).`);
    }
    const pose = worldToCameraFromPose(c2w, [m[0]![3]!, m[1]![3]!, m[2]![3]!]);

    const camera: Camera = {
      name: filePath.replace(/\\/g, '/').split('/').pop()!.replace(/\.[^.]*$/, ''),
      width,
      height,
      fx,
      fy,
      cx,
      cy,
      rotation: pose.rotation,
      translation: pose.translation,
      imagePath,
    };
    const lens = ['k1', 'k2', 'p1', 'p2'].map((k) => {
      const v = lookup(frame, top, k);
      return v === undefined ? 0 : finiteNumber(file, `${at} ${k}`, v);
    });
    for (const k of ['k3', 'k4']) {
      const v = lookup(frame, top, k);
      if (v !== undefined && finiteNumber(file, `${at} ${k}`, v) !== 0) {
        throw badCameras(file, `${at} uses lens term ${k}; only k1, k2, p1, p2 are supported. Undistort the images first.`);
      }
    }
    const model = lookup(frame, top, 'camera_model');
    if (model !== undefined && model !== 'OPENCV' && model !== 'PINHOLE' && model !== 'SIMPLE_PINHOLE') {
      throw badCameras(file, `${at} uses camera_model ${String(model)}; supported are OPENCV, PINHOLE and SIMPLE_PINHOLE.`);
    }
    if (lens.some((v) => v !== 0)) camera.distortion = { model: 'OPENCV', params: lens };
    cameras.push(camera);
  }
  return cameras;
}

export async function readTransforms(file: string): Promise<Camera[]> {
  return parseTransforms(await readCameraFile(file, 'utf8'), resolve(file));
}

/**
 * nerfstudio's `dataparser_transforms.json` (written beside a training run): the orientation,
 * centring and scale its data parser applied to the transforms.json poses before training, as
 * {"transform": 3x4, "scale": s}. Splats exported by `ns-export gaussian-splat` live in that
 * transformed frame, so their cameras need the same transform (see transformCamera).
 */
export async function readDataparserTransform(file: string): Promise<WorldTransform> {
  const path = resolve(file);
  const text = await readCameraFile(path, 'utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw badCameras(path, `it is not valid JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
  if (!isRecord(data) || !Array.isArray(data.transform) || data.transform.length < 3) {
    throw badCameras(path, 'expected {"transform": [[...4 numbers] x 3], "scale": number} as nerfstudio writes it.');
  }
  const rows = data.transform.slice(0, 3).map((row: unknown, r) => {
    if (!Array.isArray(row) || row.length !== 4) throw badCameras(path, `transform row ${r} must hold 4 numbers.`);
    return row.map((v: unknown, c) => finiteNumber(path, `transform[${r}][${c}]`, v));
  });
  const scale = finiteNumber(path, 'scale', data.scale ?? 1);
  if (scale <= 0) throw badCameras(path, `scale must be positive (found ${scale}).`);
  const rotation = rows.flatMap((row) => row.slice(0, 3));
  if (orthonormalityError(rotation) > ROTATION_TOLERANCE || det3(rotation) <= 0) {
    throw badCameras(path, 'its transform does not hold a rotation (scaled or mirrored transforms are not supported).');
  }
  return { rotation, translation: rows.map((row) => row[3]!), scale };
}
