/**
 * COLMAP sparse models (cameras.txt/images.txt or cameras.bin/images.bin), as written by COLMAP's
 * mapper and image_undistorter and read by gaussian-splatting. Images hold world-to-camera poses
 * (quaternion qw qx qy qz and translation), already in the OpenCV convention of our Camera type.
 * Supported intrinsics: SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL and OPENCV.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Camera } from '../camera.ts';
import { badCameras, readCameraFile } from './common.ts';
import { quaternionToMatrix } from './math.ts';

/** COLMAP's camera model ids (src/colmap/sensor/models.h) with their parameter counts. */
const MODELS: { id: number; name: string; params: number }[] = [
  { id: 0, name: 'SIMPLE_PINHOLE', params: 3 },
  { id: 1, name: 'PINHOLE', params: 4 },
  { id: 2, name: 'SIMPLE_RADIAL', params: 4 },
  { id: 3, name: 'RADIAL', params: 5 },
  { id: 4, name: 'OPENCV', params: 8 },
  { id: 5, name: 'OPENCV_FISHEYE', params: 8 },
  { id: 6, name: 'FULL_OPENCV', params: 12 },
  { id: 7, name: 'FOV', params: 5 },
  { id: 8, name: 'SIMPLE_RADIAL_FISHEYE', params: 4 },
  { id: 9, name: 'RADIAL_FISHEYE', params: 5 },
  { id: 10, name: 'THIN_PRISM_FISHEYE', params: 12 },
  { id: 11, name: 'RAD_TAN_THIN_PRISM_FISHEYE', params: 16 },
];
const SUPPORTED = 'SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL or OPENCV';

export interface ColmapIntrinsics {
  id: number;
  model: string;
  width: number;
  height: number;
  params: number[];
}

export interface ColmapImage {
  id: number;
  /** qw qx qy qz of the world-to-camera rotation. */
  qvec: [number, number, number, number];
  tvec: [number, number, number];
  cameraId: number;
  name: string;
}

export interface ColmapReadOptions {
  /** Folder holding the images named in images.txt/bin; default: `images/` of the dataset root. */
  imagesDir?: string;
}

function checkIntrinsics(file: string, cam: ColmapIntrinsics): void {
  const where = `camera ${cam.id}`;
  if (!Number.isInteger(cam.width) || !Number.isInteger(cam.height) || cam.width <= 0 || cam.height <= 0 || cam.width > 1 << 20 || cam.height > 1 << 20) {
    throw badCameras(file, `${where} has an impossible image size ${cam.width} x ${cam.height}.`);
  }
  if (cam.params.some((p) => !Number.isFinite(p))) throw badCameras(file, `${where} has non-finite parameters.`);
}

function checkImage(file: string, image: ColmapImage): void {
  if ([...image.qvec, ...image.tvec].some((v) => !Number.isFinite(v))) {
    throw badCameras(file, `image ${image.id} (${image.name}) has a non-finite pose.`);
  }
  if (Math.hypot(...image.qvec) < 1e-12) throw badCameras(file, `image ${image.id} (${image.name}) has a zero quaternion.`);
}

/** cameras.txt: `CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]`, '#' comments. */
export function parseColmapCamerasText(text: string, file: string): Map<number, ColmapIntrinsics> {
  const cameras = new Map<number, ColmapIntrinsics>();
  text.split(/\r?\n/).forEach((raw, lineIndex) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `line ${lineIndex + 1}`;
    const [idText, model, wText, hText, ...paramTexts] = line.split(/\s+/);
    const id = Number(idText);
    if (!Number.isInteger(id) || model === undefined || wText === undefined || hText === undefined) {
      throw badCameras(file, `${at} is not 'CAMERA_ID MODEL WIDTH HEIGHT PARAMS...'.`, { line: lineIndex + 1 });
    }
    const known = MODELS.find((m) => m.name === model);
    if (!known) throw badCameras(file, `${at}: unknown camera model ${model}.`, { line: lineIndex + 1 });
    if (paramTexts.length !== known.params) {
      throw badCameras(file, `${at}: model ${model} needs ${known.params} parameters, found ${paramTexts.length}.`, { line: lineIndex + 1 });
    }
    const cam: ColmapIntrinsics = { id, model, width: Number(wText), height: Number(hText), params: paramTexts.map(Number) };
    checkIntrinsics(file, cam);
    cameras.set(id, cam);
  });
  return cameras;
}

/**
 * images.txt: two lines per image, `IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME` and then its 2D
 * points (a line that may be empty). Like COLMAP's own reader, the line after a header is always
 * taken as its points line, so an empty points line does not shift the pairing.
 */
export function parseColmapImagesText(text: string, file: string): ColmapImage[] {
  const lines = text.split(/\r?\n/);
  const images: ColmapImage[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    if (parts.length < 10) {
      throw badCameras(file, `line ${i + 1} is not 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME'.`, { line: i + 1 });
    }
    const numbers = parts.slice(0, 9).map(Number);
    if (numbers.some((n) => Number.isNaN(n)) || !Number.isInteger(numbers[0]) || !Number.isInteger(numbers[8])) {
      throw badCameras(file, `line ${i + 1} has a malformed image id, pose or camera id.`, { line: i + 1 });
    }
    const image: ColmapImage = {
      id: numbers[0]!,
      qvec: [numbers[1]!, numbers[2]!, numbers[3]!, numbers[4]!],
      tvec: [numbers[5]!, numbers[6]!, numbers[7]!],
      cameraId: numbers[8]!,
      // Names may contain spaces; everything after the camera id is the name.
      name: line.replace(/^(\S+\s+){9}/, ''),
    };
    checkImage(file, image);
    images.push(image);
    i++; // skip the 2D points line
  }
  return images;
}

/** A bounds-checked reader over a binary COLMAP file: every overrun is a BAD_CAMERAS error. */
class BinaryCursor {
  private offset = 0;
  private readonly view: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }
  private need(n: number, what: string): void {
    if (this.remaining < n) {
      throw badCameras(this.file, `the file is truncated (needed ${n} more bytes for ${what} at byte ${this.offset}).`, { offset: this.offset });
    }
  }
  u64(what: string): number {
    this.need(8, what);
    const value = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw badCameras(this.file, `${what} is absurdly large (${value}).`);
    return Number(value);
  }
  i32(what: string): number {
    this.need(4, what);
    const value = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return value;
  }
  f64(what: string): number {
    this.need(8, what);
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.offset += n;
  }
  cString(what: string): string {
    const end = this.bytes.indexOf(0, this.offset);
    if (end < 0) throw badCameras(this.file, `the file is truncated inside ${what}.`);
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.offset, end - this.offset).toString('utf8');
    this.offset = end + 1;
    return text;
  }
}

export function parseColmapCamerasBinary(bytes: Uint8Array, file: string): Map<number, ColmapIntrinsics> {
  const cursor = new BinaryCursor(bytes, file);
  const count = cursor.u64('the camera count');
  // Each camera takes at least 24 bytes plus 3 parameters: reject counts the file cannot hold.
  if (count * 48 > cursor.remaining) throw badCameras(file, `it claims ${count} cameras but holds only ${bytes.byteLength} bytes.`);
  const cameras = new Map<number, ColmapIntrinsics>();
  for (let i = 0; i < count; i++) {
    const id = cursor.i32(`camera ${i} id`);
    const modelId = cursor.i32(`camera ${i} model`);
    const known = MODELS.find((m) => m.id === modelId);
    if (!known) throw badCameras(file, `camera ${id} has unknown model id ${modelId}.`);
    const width = cursor.u64(`camera ${id} width`);
    const height = cursor.u64(`camera ${id} height`);
    const params: number[] = [];
    for (let p = 0; p < known.params; p++) params.push(cursor.f64(`camera ${id} parameters`));
    const cam: ColmapIntrinsics = { id, model: known.name, width, height, params };
    checkIntrinsics(file, cam);
    cameras.set(id, cam);
  }
  return cameras;
}

export function parseColmapImagesBinary(bytes: Uint8Array, file: string): ColmapImage[] {
  const cursor = new BinaryCursor(bytes, file);
  const count = cursor.u64('the image count');
  // An image record is at least 4 + 56 + 4 + 1 + 8 = 73 bytes.
  if (count * 73 > cursor.remaining) throw badCameras(file, `it claims ${count} images but holds only ${bytes.byteLength} bytes.`);
  const images: ColmapImage[] = [];
  for (let i = 0; i < count; i++) {
    const id = cursor.i32(`image ${i} id`);
    const q = [0, 1, 2, 3].map(() => cursor.f64(`image ${id} quaternion`));
    const t = [0, 1, 2].map(() => cursor.f64(`image ${id} translation`));
    const cameraId = cursor.i32(`image ${id} camera id`);
    const name = cursor.cString(`image ${id} name`);
    const points = cursor.u64(`image ${id} point count`);
    // Each 2D point is x, y (float64) and a point3D id (int64): 24 bytes we do not need.
    if (points > cursor.remaining / 24) throw badCameras(file, `image ${id} claims ${points} 2D points, more than the file holds.`);
    cursor.skip(points * 24, `image ${id} 2D points`);
    const image: ColmapImage = { id, qvec: [q[0]!, q[1]!, q[2]!, q[3]!], tvec: [t[0]!, t[1]!, t[2]!], cameraId, name };
    checkImage(file, image);
    images.push(image);
  }
  return images;
}

/** Our Camera intrinsics from a COLMAP model, or a BAD_CAMERAS error for unsupported lens models. */
function intrinsicsOf(file: string, cam: ColmapIntrinsics): Pick<Camera, 'width' | 'height' | 'fx' | 'fy' | 'cx' | 'cy' | 'distortion'> {
  const p = cam.params;
  const size = { width: cam.width, height: cam.height };
  switch (cam.model) {
    case 'SIMPLE_PINHOLE':
      return { ...size, fx: p[0]!, fy: p[0]!, cx: p[1]!, cy: p[2]! };
    case 'PINHOLE':
      return { ...size, fx: p[0]!, fy: p[1]!, cx: p[2]!, cy: p[3]! };
    case 'SIMPLE_RADIAL':
      return { ...size, fx: p[0]!, fy: p[0]!, cx: p[1]!, cy: p[2]!, distortion: { model: 'SIMPLE_RADIAL', params: [p[3]!] } };
    case 'RADIAL':
      // RADIAL (k1, k2) is OPENCV with no tangential terms.
      return { ...size, fx: p[0]!, fy: p[0]!, cx: p[1]!, cy: p[2]!, distortion: { model: 'OPENCV', params: [p[3]!, p[4]!, 0, 0] } };
    case 'OPENCV':
      return { ...size, fx: p[0]!, fy: p[1]!, cx: p[2]!, cy: p[3]!, distortion: { model: 'OPENCV', params: [p[4]!, p[5]!, p[6]!, p[7]!] } };
    default:
      throw badCameras(
        file,
        `camera ${cam.id} uses the ${cam.model} lens model; supported are ${SUPPORTED}. Undistort the images first (colmap image_undistorter) and import the undistorted model.`,
      );
  }
}

/** Where a model's images live: `<root>/images` for `<root>/sparse/0` or `<root>/sparse`. */
export function defaultColmapImagesDirs(modelDir: string): string[] {
  const dir = resolve(modelDir);
  const parent = dirname(dir);
  const candidates: string[] = [];
  if (basename(parent) === 'sparse') candidates.push(join(dirname(parent), 'images'));
  if (basename(dir) === 'sparse') candidates.push(join(parent, 'images'));
  candidates.push(join(parent, 'images'), join(dir, 'images'));
  return [...new Set(candidates)];
}

/** Joins parsed intrinsics and images into cameras sorted by image name (as gaussian-splatting does). */
export function colmapToCameras(
  intrinsics: Map<number, ColmapIntrinsics>,
  images: ColmapImage[],
  files: { cameras: string; images: string },
  imagesDirs: string[],
): Camera[] {
  const imagesFile = files.images;
  if (images.length === 0) throw badCameras(imagesFile, 'the model has no registered images.');
  const sorted = [...images].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const imagesDir = imagesDirs.find((d) => sorted.some((img) => existsSync(join(d, img.name)))) ?? imagesDirs[0]!;
  return sorted.map((image) => {
    const cam = intrinsics.get(image.cameraId);
    if (!cam) throw badCameras(imagesFile, `image ${image.id} (${image.name}) refers to camera ${image.cameraId}, which cameras.txt/bin does not define.`);
    // The file name without folder or extension: names end up in cache paths (masks/<name>/).
    const stem = image.name.split(/[\\/]/).pop()!.replace(/\.[^.]*$/, '');
    const lens = intrinsicsOf(files.cameras, cam);
    if (!(lens.fx > 0 && lens.fy > 0)) {
      throw badCameras(files.cameras, `camera ${cam.id} has a focal length that is not positive (${lens.fx}, ${lens.fy}).`);
    }
    return {
      name: stem || `image-${image.id}`,
      ...lens,
      rotation: quaternionToMatrix(...image.qvec),
      translation: [...image.tvec],
      imagePath: resolve(imagesDir, image.name),
    };
  });
}

export type ColmapEncoding = 'binary' | 'text';

/** Which model files a folder holds (binary preferred, as gaussian-splatting does), if any. */
export function colmapEncoding(modelDir: string): ColmapEncoding | undefined {
  if (existsSync(join(modelDir, 'cameras.bin')) && existsSync(join(modelDir, 'images.bin'))) return 'binary';
  if (existsSync(join(modelDir, 'cameras.txt')) && existsSync(join(modelDir, 'images.txt'))) return 'text';
  return undefined;
}

export async function readColmapModel(modelDir: string, options: ColmapReadOptions = {}): Promise<Camera[]> {
  const dir = resolve(modelDir);
  const encoding = colmapEncoding(dir);
  if (!encoding) {
    throw badCameras(dir, 'this folder holds no COLMAP model (cameras.bin + images.bin, or cameras.txt + images.txt).');
  }
  const imagesDirs = options.imagesDir ? [resolve(options.imagesDir)] : defaultColmapImagesDirs(dir);
  if (encoding === 'binary') {
    const camerasFile = join(dir, 'cameras.bin');
    const imagesFile = join(dir, 'images.bin');
    const intrinsics = parseColmapCamerasBinary(await readCameraFile(camerasFile), camerasFile);
    return colmapToCameras(intrinsics, parseColmapImagesBinary(await readCameraFile(imagesFile), imagesFile), { cameras: camerasFile, images: imagesFile }, imagesDirs);
  }
  const camerasFile = join(dir, 'cameras.txt');
  const imagesFile = join(dir, 'images.txt');
  const intrinsics = parseColmapCamerasText(await readCameraFile(camerasFile, 'utf8'), camerasFile);
  return colmapToCameras(intrinsics, parseColmapImagesText(await readCameraFile(imagesFile, 'utf8'), imagesFile), { cameras: camerasFile, images: imagesFile }, imagesDirs);
}
