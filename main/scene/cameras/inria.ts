/**
 * INRIA 3DGS `cameras.json`: the list that gaussian-splatting's train.py writes beside its output
 * (utils/camera_utils.py camera_to_JSON). Each entry holds the camera-to-world pose: `position` is
 * the camera centre and `rotation` the camera-to-world rotation (rows of a 3x3, OpenCV axes),
 * fx/fy in pixels of the full-size image, and `img_name` the image file name up to its first dot.
 * The format has no principal point; 3DGS assumes the image centre.
 *
 * Our writer adds `cx`, `cy` and a `saga` object (exact world-to-camera translation, image path,
 * distortion) that other tools ignore, so a write followed by a read returns the same cameras.
 */
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { writeDataAtomic } from '../../common/atomic-write.ts';
import { SagaError } from '../../contract/errors.ts';
import type { Camera } from '../camera.ts';
import { badCameras, finiteNumber, IMAGE_EXTENSIONS, imageDimension, indexImages, numberArray, positiveFocal, readCameraFile } from './common.ts';
import { cameraCenterOf, det3, orthonormalityError, transpose3, worldToCameraFromPose } from './math.ts';

export interface InriaReadOptions {
  /** Folder holding the views' images; default `images/` beside the cameras.json. */
  imagesDir?: string;
}

/** Tolerance for a rotation written with float32 precision by training code. */
const ROTATION_TOLERANCE = 1e-3;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses the text of a cameras.json; `file` is its absolute path (for messages and image paths). */
export async function parseInriaCameras(text: string, file: string, options: InriaReadOptions = {}): Promise<Camera[]> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw badCameras(file, `it is not valid JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
  if (!Array.isArray(data)) throw badCameras(file, 'an INRIA cameras.json must be a JSON list of camera entries.');
  if (data.length === 0) throw badCameras(file, 'the camera list is empty.');
  const folder = dirname(file);
  const images = await indexImages(options.imagesDir ?? join(folder, 'images'));
  return data.map((entry: unknown, i) => {
    const where = `camera ${i}`;
    if (!isRecord(entry)) throw badCameras(file, `${where} is not an object.`);
    const imgName = entry.img_name;
    if (typeof imgName !== 'string' || imgName.length === 0) throw badCameras(file, `${where} has no img_name.`);
    // gaussian-splatting writes the stem; some converters write the file name with its extension.
    const ext = extname(imgName);
    const name = IMAGE_EXTENSIONS.has(ext.toLowerCase()) ? imgName.slice(0, -ext.length) : imgName;
    const at = `camera ${i} (${name})`;
    const width = imageDimension(file, `${at} width`, entry.width);
    const height = imageDimension(file, `${at} height`, entry.height);
    const fx = positiveFocal(file, `${at} fx`, entry.fx);
    const fy = positiveFocal(file, `${at} fy`, entry.fy);
    const cx = entry.cx === undefined ? width / 2 : finiteNumber(file, `${at} cx`, entry.cx);
    const cy = entry.cy === undefined ? height / 2 : finiteNumber(file, `${at} cy`, entry.cy);
    const position = numberArray(file, `${at} position`, entry.position, 3);
    const rows = entry.rotation;
    if (!Array.isArray(rows) || rows.length !== 3) throw badCameras(file, `${at} rotation must be a 3x3 list of rows.`);
    const c2w = rows.flatMap((row: unknown, r) => numberArray(file, `${at} rotation[${r}]`, row, 3));
    if (orthonormalityError(c2w) > ROTATION_TOLERANCE || det3(c2w) <= 0) {
      throw badCameras(file, `${at} rotation is not a rotation matrix (rows must be orthonormal with determinant +1).`);
    }
    const pose = worldToCameraFromPose(c2w, position);
    const camera: Camera = { name, width, height, fx, fy, cx, cy, rotation: pose.rotation, translation: pose.translation };

    const saga = isRecord(entry.saga) ? entry.saga : undefined;
    if (saga?.translation !== undefined) {
      const t = numberArray(file, `${at} saga.translation`, saga.translation, 3);
      // Prefer the exact translation we wrote, unless someone edited `position` since.
      const c = cameraCenterOf(pose.rotation, t);
      const scale = Math.max(1, Math.hypot(position[0]!, position[1]!, position[2]!));
      if (Math.hypot(c[0] - position[0]!, c[1] - position[1]!, c[2] - position[2]!) <= 1e-9 * scale) camera.translation = t;
    }
    if (typeof saga?.image_path === 'string') {
      camera.imagePath = isAbsolute(saga.image_path) ? saga.image_path : resolve(folder, saga.image_path);
    } else {
      const found = images.get(imgName);
      if (found !== undefined) camera.imagePath = resolve(found);
    }
    if (isRecord(saga?.distortion)) {
      const model = saga.distortion.model;
      if (model !== 'SIMPLE_RADIAL' && model !== 'OPENCV') {
        throw badCameras(file, `${at} saga.distortion.model must be SIMPLE_RADIAL or OPENCV.`);
      }
      const params = saga.distortion.params;
      camera.distortion = { model, params: numberArray(file, `${at} saga.distortion.params`, params, model === 'OPENCV' ? 4 : 1) };
    }
    return camera;
  });
}

export async function readInriaCameras(file: string, options: InriaReadOptions = {}): Promise<Camera[]> {
  return parseInriaCameras(await readCameraFile(file, 'utf8'), resolve(file), options);
}

/** The JSON entries gaussian-splatting writes, in its key order, plus our exact extras. */
export function inriaCameraEntries(cameras: readonly Camera[], folder: string): Record<string, unknown>[] {
  return cameras.map((cam, id) => {
    const c2w = transpose3(cam.rotation);
    const saga: Record<string, unknown> = { translation: [...cam.translation] };
    if (cam.imagePath !== undefined) {
      saga.image_path = isAbsolute(cam.imagePath) ? relative(folder, cam.imagePath) || '.' : cam.imagePath;
    }
    if (cam.distortion) saga.distortion = { model: cam.distortion.model, params: [...cam.distortion.params] };
    return {
      id,
      img_name: cam.name,
      width: cam.width,
      height: cam.height,
      position: cameraCenterOf(cam.rotation, cam.translation),
      rotation: [c2w.slice(0, 3), c2w.slice(3, 6), c2w.slice(6, 9)],
      fy: cam.fy,
      fx: cam.fx,
      cx: cam.cx,
      cy: cam.cy,
      saga,
    };
  });
}

function checkWritable(cam: Camera, i: number): void {
  const problem = (what: string) =>
    new SagaError('BAD_CAMERAS', `Cannot write camera ${i} (${cam.name}): ${what}.`, { camera: i, name: cam.name });
  if (!cam.name) throw problem('it has no name');
  const numbers = [cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy, ...cam.rotation, ...cam.translation];
  if (cam.rotation.length !== 9 || cam.translation.length !== 3 || numbers.some((n) => !Number.isFinite(n))) {
    throw problem('its pose or intrinsics contain missing or non-finite numbers');
  }
  if (!Number.isInteger(cam.width) || !Number.isInteger(cam.height) || cam.width <= 0 || cam.height <= 0) {
    throw problem('its image size is not a positive whole number of pixels');
  }
}

/**
 * Writes cameras as an INRIA cameras.json that gaussian-splatting tools and `readCameras` accept.
 * Written to a temporary file and renamed, so a failure never leaves a partial file.
 */
export async function writeInriaCameras(cameras: readonly Camera[], path: string): Promise<void> {
  if (cameras.length === 0) throw new SagaError('BAD_CAMERAS', 'There are no cameras to write.', { file: path });
  cameras.forEach(checkWritable);
  const target = resolve(path);
  if (extname(target).toLowerCase() !== '.json') {
    throw new SagaError('BAD_ARGUMENT', `Cameras are written as JSON: give a file name ending in .json (got ${basename(target)}).`);
  }
  const text = JSON.stringify(inriaCameraEntries(cameras, dirname(target)), null, 1) + '\n';
  await writeDataAtomic(target, text);
}
