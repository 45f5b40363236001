/**
 * One entry point for the camera files of the common 3DGS training tools: INRIA cameras.json,
 * COLMAP sparse models (text or binary) and transforms.json (nerfstudio, instant-ngp, Blender).
 * All of them become our OpenCV-convention Camera (main/scene/camera.ts) with absolute image paths.
 */
import { stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { Camera } from '../camera.ts';
import { colmapEncoding, readColmapModel } from './colmap.ts';
import { badCameras, describeFsError, readCameraFile } from './common.ts';
import { parseInriaCameras } from './inria.ts';
import { parseTransforms } from './transforms.ts';

export { writeInriaCameras } from './inria.ts';
export { projectPoint, cameraCenterOf, quaternionToMatrix, matrixToQuaternion, scaleCamera, transformCamera, type WorldTransform } from './math.ts';
export { readDataparserTransform } from './transforms.ts';
export { readImageSize } from './image-size.ts';

export type CameraSourceKind = 'inria' | 'colmap-binary' | 'colmap-text' | 'transforms';

export interface ReadCamerasOptions {
  /**
   * Folder holding the views' images, when they are not where the camera file implies
   * (cameras.json: `images/` beside it; COLMAP: `<root>/images` for `<root>/sparse/0`).
   * transforms.json paths are relative to the file and ignore this.
   */
  imagesDir?: string;
}

/** The camera source a path designates: a JSON file, or a folder holding a COLMAP model. */
export interface CameraSource {
  kind: CameraSourceKind;
  /** The JSON file or the COLMAP model folder. */
  path: string;
}


/**
 * Finds the camera source a path designates. A folder may be a COLMAP model itself, a dataset
 * root with `sparse/0` or `sparse/`, or a folder holding cameras.json or transforms.json.
 */
export async function detectCameraSource(path: string): Promise<CameraSource> {
  const target = resolve(path);
  let info;
  try {
    info = await stat(target);
  } catch (e) {
    throw describeFsError(e, target);
  }
  if (info.isFile()) {
    if (extname(target).toLowerCase() !== '.json') {
      const name = basename(target);
      if (/^(cameras|images)\.(bin|txt)$/.test(name)) return detectCameraSource(join(target, '..'));
      throw badCameras(target, 'expected cameras.json, transforms.json or a COLMAP model folder (sparse/0).');
    }
    // The two JSON dialects differ in shape (a list vs an object with frames); the parser decides.
    return { kind: /^transforms.*\.json$/i.test(basename(target)) ? 'transforms' : 'inria', path: target };
  }
  for (const dir of [target, join(target, 'sparse', '0'), join(target, 'sparse')]) {
    const encoding = colmapEncoding(dir);
    if (encoding) return { kind: encoding === 'binary' ? 'colmap-binary' : 'colmap-text', path: dir };
  }
  if (existsSync(join(target, 'cameras.json'))) return { kind: 'inria', path: join(target, 'cameras.json') };
  if (existsSync(join(target, 'transforms.json'))) return { kind: 'transforms', path: join(target, 'transforms.json') };
  if (existsSync(join(target, 'transforms_train.json'))) return { kind: 'transforms', path: join(target, 'transforms_train.json') };
  throw badCameras(
    target,
    'found no cameras here: expected cameras.json, transforms.json, or a COLMAP model (cameras.bin + images.bin or cameras.txt + images.txt, directly or in sparse/0).',
  );
}

/**
 * Camera names must identify views: when two images share a stem (a.jpg and a.png, or the same
 * file name in two sub-folders) the later ones get a numeric suffix.
 */
function uniqueNames(cameras: Camera[]): Camera[] {
  const seen = new Map<string, number>();
  for (const cam of cameras) {
    const count = seen.get(cam.name) ?? 0;
    seen.set(cam.name, count + 1);
    if (count > 0) {
      let candidate = `${cam.name}-${count + 1}`;
      while (seen.has(candidate)) candidate += '_';
      seen.set(candidate, 1);
      cam.name = candidate;
    }
  }
  return cameras;
}

/** Reads the cameras at `path` (file or folder; see detectCameraSource). */
export async function readCameras(path: string, options: ReadCamerasOptions = {}): Promise<Camera[]> {
  const source = await detectCameraSource(path);
  switch (source.kind) {
    case 'colmap-binary':
    case 'colmap-text':
      return uniqueNames(await readColmapModel(source.path, options));
    case 'inria':
    case 'transforms': {
      const text = await readCameraFile(source.path, 'utf8');
      // A JSON list is a cameras.json and an object with frames a transforms.json, whatever the name.
      const looksLikeList = /^\s*\[/.test(text);
      const cameras = looksLikeList ? await parseInriaCameras(text, source.path, options) : await parseTransforms(text, source.path);
      return uniqueNames(cameras);
    }
  }
}
