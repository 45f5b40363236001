/**
 * Finds what a 3DGS training run left behind, in the layouts people actually have:
 *
 *   gaussian-splatting output:  <out>/cfg_args, <out>/cameras.json, <out>/input.ply (SfM points),
 *                               <out>/point_cloud/iteration_<N>/point_cloud.ply
 *   a plain folder:             <dir>/<scene>.ply|.splat|.spz, <dir>/cameras.json, <dir>/images/
 *                               (or transforms.json / a COLMAP model instead of cameras.json; with
 *                               nerfstudio's dataparser_transforms.json applied when present)
 *
 * The images folder comes from an explicit override, else cfg_args (source_path + images), else
 * `images/` beside. Views whose image cannot be found are listed, not fatal: an output folder
 * copied from a training server often lacks the photos, and the user can point at them later.
 */
import { existsSync } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { SagaError } from '../contract/errors.ts';
import type { Camera } from './camera.ts';
import { indexImages } from './cameras/common.ts';
import { detectCameraSource, readCameras, readDataparserTransform, readImageSize, scaleCamera, transformCamera, type WorldTransform } from './cameras/index.ts';

export type PythonValue = string | number | boolean | null | PythonValue[];

export interface TrainingOutput {
  /** 'training-output' for point_cloud/iteration_<N>/, 'plain' for a folder holding a scene file. */
  layout: 'training-output' | 'plain';
  /** The folder, absolute. */
  root: string;
  /** The scene file to open, absolute. */
  scenePath: string;
  /** The iteration whose point cloud was chosen (the latest, unless one was asked for). */
  iteration?: number;
  /** Every iteration with a saved point cloud, ascending. */
  iterations: number[];
  /** Cameras with image paths resolved to absolute paths where the image was found. */
  cameras: Camera[];
  /** Where the cameras came from (cameras.json, or the source dataset's COLMAP/transforms). */
  camerasPath: string;
  /** Names of the cameras whose image file was not found. */
  missingImages: string[];
  /** The images folder, when one was found or given. */
  imagesDir?: string;
  /** Training's source_path from cfg_args, resolved (it may not exist on this machine). */
  sourcePath?: string;
  /** Every field of cfg_args, parsed (not evaluated). */
  config?: Record<string, PythonValue>;
  /** nerfstudio's data parser transform, already applied to `cameras`. */
  worldTransform?: WorldTransform;
  /** Things the user may want to know that did not stop the import. */
  warnings: string[];
}

export interface FindTrainingOutputOptions {
  /** Use this images folder instead of the one cfg_args or the layout implies. */
  imagesDir?: string;
  /** Open this iteration instead of the latest. */
  iteration?: number;
  /** Read cameras from this file or COLMAP folder instead of <dir>/cameras.json. */
  camerasPath?: string;
  signal?: AbortSignal;
}

const SCENE_EXTENSIONS = ['.ply', '.splat', '.spz'];
const ITERATION_DIR = /^iteration_(\d+)$/;

function notTrainingOutput(dir: string, problem: string): SagaError {
  return new SagaError(
    'UNSUPPORTED_FORMAT',
    `${dir} is not a 3DGS training output: ${problem} Expected point_cloud/iteration_<N>/point_cloud.ply, or a folder with one .ply/.splat/.spz scene, cameras.json and images/.`,
    { dir },
  );
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SagaError('CANCELLED', 'Opening the training output was cancelled.');
}

/**
 * Parses the `cfg_args` file gaussian-splatting writes: the repr of an argparse Namespace, e.g.
 * `Namespace(sh_degree=3, source_path='/data/garden', images='images', eval=False)`. Literals
 * (strings, numbers, True/False/None, lists and tuples) are read, never evaluated; a value we
 * cannot read is kept as its source text.
 */
export function parseCfgArgs(text: string): Record<string, PythonValue> {
  const src = text.trim();
  const open = src.indexOf('(');
  if (!src.startsWith('Namespace') || open < 0 || !src.endsWith(')')) {
    throw new SagaError('BAD_ARGUMENT', 'cfg_args is not a Namespace(...) as written by gaussian-splatting.');
  }
  let pos = open + 1;
  const end = src.length - 1;
  const skipSpace = () => {
    while (pos < end && /\s/.test(src[pos]!)) pos++;
  };

  const readString = (): string => {
    let prefix = '';
    while (/[rRbBuUfF]/.test(src[pos]!)) prefix += src[pos++]!;
    const raw = /r/i.test(prefix);
    const quote = src[pos]!;
    const triple = src.startsWith(quote.repeat(3), pos);
    pos += triple ? 3 : 1;
    let out = '';
    for (;;) {
      if (pos >= end) throw new Error('unterminated string');
      if (triple ? src.startsWith(quote.repeat(3), pos) : src[pos] === quote) {
        pos += triple ? 3 : 1;
        return out;
      }
      const ch = src[pos++]!;
      if (ch !== '\\' || raw) {
        out += ch;
        continue;
      }
      const esc = src[pos++]!;
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v' };
      if (esc in simple) out += simple[esc];
      else if (esc === 'x' || esc === 'u' || esc === 'U') {
        const digits = esc === 'x' ? 2 : esc === 'u' ? 4 : 8;
        const code = Number.parseInt(src.slice(pos, pos + digits), 16);
        if (Number.isNaN(code)) throw new Error(`bad \\${esc} escape`);
        out += String.fromCodePoint(code);
        pos += digits;
      } else if (esc === '\n') {
        // line continuation
      } else out += '\\' + esc;
    }
  };

  const readValue = (): PythonValue => {
    skipSpace();
    const ch = src[pos]!;
    if (ch === "'" || ch === '"' || (/[rRbBuUfF]/.test(ch) && /^[rRbBuUfF]{1,2}['"]/.test(src.slice(pos, pos + 3)))) return readString();
    if (ch === '[' || ch === '(') {
      const close = ch === '[' ? ']' : ')';
      pos++;
      const items: PythonValue[] = [];
      for (;;) {
        skipSpace();
        if (src[pos] === close) {
          pos++;
          return items;
        }
        items.push(readValue());
        skipSpace();
        if (src[pos] === ',') pos++;
        else if (src[pos] !== close) throw new Error('expected , or closing bracket');
      }
    }
    const match = /^(True|False|None|[-+]?(?:\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|inf|nan))(?=[\s,)\]])/.exec(src.slice(pos, end + 1));
    if (match) {
      pos += match[0].length;
      const word = match[0];
      if (word === 'True') return true;
      if (word === 'False') return false;
      if (word === 'None') return null;
      return Number(word.replace(/_/g, '').replace(/^([-+]?)inf$/, '$1Infinity').replace(/^[-+]?nan$/, 'NaN'));
    }
    throw new Error('unreadable value');
  };

  /** Source text up to the next top-level comma: kept for values we cannot read. */
  const skipRaw = (start: number): string => {
    let depth = 0;
    let quote = '';
    pos = start;
    for (; pos < end; pos++) {
      const ch = src[pos]!;
      if (quote) {
        if (ch === '\\') pos++;
        else if (ch === quote) quote = '';
      } else if (ch === "'" || ch === '"') quote = ch;
      else if ('([{'.includes(ch)) depth++;
      else if (')]}'.includes(ch)) depth--;
      else if (ch === ',' && depth === 0) break;
    }
    return src.slice(start, pos).trim();
  };

  const fields: Record<string, PythonValue> = {};
  for (;;) {
    skipSpace();
    if (pos >= end) break;
    const key = /^[A-Za-z_]\w*/.exec(src.slice(pos));
    if (!key || src[pos + key[0].length] !== '=') {
      throw new SagaError('BAD_ARGUMENT', `cfg_args: expected name=value at character ${pos}.`);
    }
    pos += key[0].length + 1;
    const start = pos;
    let value: PythonValue;
    try {
      value = readValue();
      skipSpace();
      if (pos < end && src[pos] !== ',') throw new Error('trailing text');
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      // Objects such as PosixPath('...') or enums: keep their text, the fields we use are literals.
      value = skipRaw(start);
    }
    fields[key[0]] = value;
    skipSpace();
    if (src[pos] === ',') pos++;
  }
  return fields;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw e;
  }
}

/**
 * Saved iterations under point_cloud/ that hold a point_cloud.ply, ascending; none when the folder
 * is missing. The one scan of iteration_<N> folders (backend and evaluation use it too).
 */
export async function savedIterations(pointCloudDir: string): Promise<number[]> {
  const entries = await readdir(pointCloudDir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    // No point_cloud/ folder (or a file in its place): nothing was saved.
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return [];
    throw e;
  });
  const iterations: number[] = [];
  for (const entry of entries) {
    const match = ITERATION_DIR.exec(entry.name);
    if (match && existsSync(join(pointCloudDir, entry.name, 'point_cloud.ply'))) iterations.push(Number(match[1]));
  }
  return iterations.sort((a, b) => a - b);
}

/** point_cloud/iteration_<N>/point_cloud.ply with the highest saved N under `outputDir`, if any. */
export async function latestIterationPly(outputDir: string): Promise<string | undefined> {
  const pointCloudDir = join(outputDir, 'point_cloud');
  const latest = (await savedIterations(pointCloudDir)).at(-1);
  return latest === undefined ? undefined : join(pointCloudDir, `iteration_${latest}`, 'point_cloud.ply');
}

/**
 * Whether a PLY header describes Gaussians (INRIA: opacity and scale_0; PlayCanvas compressed:
 * packed_position) rather than a plain point cloud such as 3DGS's input.ply.
 */
async function isGaussianPly(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
    const head = buffer.toString('latin1', 0, bytesRead);
    const endHeader = head.indexOf('end_header');
    if (!head.startsWith('ply') || endHeader < 0) return false;
    const properties = new Set([...head.slice(0, endHeader).matchAll(/^property\s+(?:list\s+\S+\s+)?\S+\s+(\S+)\s*$/gm)].map((m) => m[1]));
    return (properties.has('opacity') && properties.has('scale_0')) || properties.has('packed_position');
  } finally {
    await file.close();
  }
}

/** The one Gaussian scene file of a plain folder, or an error that lists what was found. */
async function plainSceneFile(dir: string): Promise<string> {
  const names = (await readdir(dir)).filter((n) => SCENE_EXTENSIONS.includes(extname(n).toLowerCase())).sort();
  const scenes: string[] = [];
  const pointClouds: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    if (extname(name).toLowerCase() !== '.ply' || (await isGaussianPly(path))) scenes.push(path);
    else pointClouds.push(name);
  }
  if (scenes.length === 1) return scenes[0]!;
  if (scenes.length === 0) {
    const note = pointClouds.length ? ` (${pointClouds.join(', ')} ${pointClouds.length === 1 ? 'is a plain point cloud' : 'are plain point clouds'}, not Gaussians)` : '';
    throw notTrainingOutput(dir, `it holds no Gaussian scene file${note}.`);
  }
  const preferred = scenes.find((p) => basename(p) === 'point_cloud.ply');
  if (preferred) return preferred;
  throw new SagaError(
    'BAD_ARGUMENT',
    `${dir} holds several scene files (${scenes.map((p) => basename(p)).join(', ')}); open the one you want by its path.`,
    { dir, scenes },
  );
}

/**
 * gaussian-splatting stores source_path absolute, but other trainers write it relative to the
 * directory training ran in. When model_path is relative too and the output folder ends with it,
 * that directory is known; otherwise try the output folder and its parent.
 */
function sourcePathCandidates(root: string, config: Record<string, PythonValue>): string[] {
  const source = config.source_path;
  if (typeof source !== 'string' || source === '') return [];
  if (isAbsolute(source)) return [normalize(source)];
  const candidates: string[] = [];
  const model = config.model_path;
  if (typeof model === 'string' && model !== '' && !isAbsolute(model)) {
    const suffix = normalize(model).replace(/[\\/]+$/, '');
    if (root.endsWith(sep + suffix)) candidates.push(resolve(root.slice(0, -suffix.length), source));
  }
  candidates.push(resolve(root, source), resolve(dirname(root), source));
  return [...new Set(candidates)];
}

/** Resolves each camera's image: explicit images folder first, then the path the camera file implies. */
async function resolveImages(cameras: Camera[], imagesDir: string | undefined, override: boolean): Promise<string[]> {
  const index = imagesDir ? await indexImages(imagesDir) : new Map<string, string>();
  const missing: string[] = [];
  for (const cam of cameras) {
    const current = cam.imagePath;
    const keepCurrent = current !== undefined && !override && existsSync(current);
    if (!keepCurrent) {
      const found = (current !== undefined ? index.get(basename(current)) : undefined) ?? index.get(cam.name);
      if (found !== undefined) cam.imagePath = resolve(found);
    }
    if (cam.imagePath === undefined || !existsSync(cam.imagePath)) missing.push(cam.name);
  }
  return missing;
}

/**
 * Fits each camera to the size of its image file (PNG/JPEG headers only). A uniformly downscaled
 * image (3DGS's images_2/images_4, or -r 2) gets scaled intrinsics; an image whose aspect ratio
 * differs by more than rounding is reported and left alone.
 */
async function matchImageSizes(cameras: Camera[]): Promise<{ scaled: number; mismatched: string[] }> {
  let scaled = 0;
  const mismatched: string[] = [];
  for (const [i, cam] of cameras.entries()) {
    if (cam.imagePath === undefined || !existsSync(cam.imagePath)) continue;
    let size;
    try {
      size = await readImageSize(cam.imagePath);
    } catch (e) {
      // An image we cannot open (permissions, a folder with an image's name) is the caller's to
      // report when it loads the pixels; here it only means the size cannot be checked.
      if (!(e instanceof Error && 'code' in e)) throw e;
      mismatched.push(cam.name);
      continue;
    }
    if (!size || (size.width === cam.width && size.height === cam.height)) continue;
    // Downscaling rounds each side to whole pixels: allow one pixel of disagreement per side.
    const factor = size.width / cam.width;
    if (Math.abs(cam.height * factor - size.height) <= 1 && Math.abs(size.width - cam.width * (size.height / cam.height)) <= 1) {
      cameras[i] = scaleCamera(cam, size.width, size.height);
      scaled++;
    } else mismatched.push(cam.name);
  }
  return { scaled, mismatched };
}

/** Finds the scene, cameras and images of a 3DGS training output folder (see the file comment). */
export async function findTrainingOutput(dir: string, options: FindTrainingOutputOptions = {}): Promise<TrainingOutput> {
  let root = resolve(dir);
  let info;
  try {
    info = await stat(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SagaError('FILE_NOT_FOUND', `No such folder: ${root}. Check the path.`, { dir: root });
    throw new SagaError('FILE_UNREADABLE', `Cannot read ${root}: ${e instanceof Error ? e.message : String(e)}.`, { dir: root }, { cause: e });
  }
  const warnings: string[] = [];
  let scenePath: string | undefined;
  let iteration = options.iteration;
  // A scene file outside point_cloud/iteration_<N>/: its folder supplies cameras and images only.
  let looseFile = false;
  if (info.isFile()) {
    // A scene file was given: use its training output when it sits in one, else its folder.
    if (!SCENE_EXTENSIONS.includes(extname(root).toLowerCase())) throw notTrainingOutput(root, 'this is a file, not a folder.');
    const iterationMatch = ITERATION_DIR.exec(basename(dirname(root)));
    if (iterationMatch && basename(dirname(dirname(root))) === 'point_cloud') {
      iteration = Number(iterationMatch[1]);
      scenePath = root;
      root = dirname(dirname(dirname(root)));
    } else {
      scenePath = root;
      root = dirname(root);
      looseFile = true;
    }
  } else if (basename(root) === 'point_cloud' && existsSync(join(dirname(root), 'cfg_args'))) {
    // The point_cloud/ folder itself: its training output is one level up.
    root = dirname(root);
  } else if (ITERATION_DIR.test(basename(root)) && basename(dirname(root)) === 'point_cloud') {
    // One iteration's folder: open that iteration of the training output two levels up.
    iteration ??= Number(ITERATION_DIR.exec(basename(root))![1]);
    root = dirname(dirname(root));
  }
  checkAborted(options.signal);

  let config: Record<string, PythonValue> | undefined;
  const cfgPath = join(root, 'cfg_args');
  if (existsSync(cfgPath)) {
    try {
      config = parseCfgArgs(await readFile(cfgPath, 'utf8'));
    } catch (e) {
      // cfg_args only helps find the images: a broken or unreadable one is worth a warning, not a failure.
      if (!(e instanceof SagaError || (e instanceof Error && 'code' in e))) throw e;
      warnings.push(`${cfgPath} could not be read (${e.message}); its source path was ignored.`);
    }
  }

  // The scene.
  const pointCloudDir = join(root, 'point_cloud');
  let layout: TrainingOutput['layout'] = 'plain';
  let iterations: number[] = [];
  if (!looseFile && (await isDirectory(pointCloudDir))) {
    iterations = await savedIterations(pointCloudDir);
    if (iterations.length > 0) layout = 'training-output';
  }
  if (layout === 'training-output') {
    if (iteration === undefined) iteration = iterations[iterations.length - 1]!;
    else if (!iterations.includes(iteration)) {
      throw new SagaError('BAD_ARGUMENT', `Iteration ${iteration} was not saved in ${pointCloudDir}; saved iterations: ${iterations.join(', ')}.`, {
        dir: root,
        iterations,
      });
    }
    scenePath ??= join(pointCloudDir, `iteration_${iteration}`, 'point_cloud.ply');
  } else {
    iteration = undefined;
    if (scenePath === undefined) {
      try {
        scenePath = await plainSceneFile(root);
      } catch (e) {
        // A run that has not saved yet explains itself better than "no scene file".
        if (e instanceof SagaError && e.code === 'UNSUPPORTED_FORMAT' && !looseFile && (await isDirectory(pointCloudDir))) {
          throw notTrainingOutput(root, 'point_cloud/ holds no iteration_<N>/point_cloud.ply yet (training saves them at its save iterations).');
        }
        throw e;
      }
    }
  }
  checkAborted(options.signal);

  // The training data folder, as cfg_args names it.
  let sourcePath: string | undefined;
  if (config) {
    const candidates = sourcePathCandidates(root, config);
    sourcePath = candidates.find((c) => existsSync(c)) ?? candidates[0];
    if (sourcePath && !existsSync(sourcePath)) {
      warnings.push(`The training data folder named in cfg_args (${String(config.source_path)}) is not on this machine.`);
    }
  }

  // The images folder.
  let imagesDir: string | undefined;
  if (options.imagesDir !== undefined) {
    imagesDir = resolve(options.imagesDir);
    if (!(await isDirectory(imagesDir))) throw new SagaError('FILE_NOT_FOUND', `The images folder ${imagesDir} does not exist.`, { dir: imagesDir });
  } else {
    const imagesName = typeof config?.images === 'string' && config.images !== '' ? config.images : 'images';
    const candidates = [
      ...(sourcePath ? [resolve(sourcePath, imagesName)] : []),
      join(root, imagesName),
      join(root, 'images'),
    ];
    for (const candidate of candidates) {
      if (await isDirectory(candidate)) {
        imagesDir = candidate;
        break;
      }
    }
  }

  // The cameras: given, else cameras.json, else any camera file or COLMAP model in the folder,
  // else the training data's.
  let camerasPath: string;
  if (options.camerasPath !== undefined) camerasPath = resolve(options.camerasPath);
  else if (existsSync(join(root, 'cameras.json'))) camerasPath = join(root, 'cameras.json');
  else {
    const here = await detectCameraSource(root).catch((e: unknown) => {
      if (e instanceof SagaError && e.code === 'BAD_CAMERAS') return undefined; // none here: try the source path
      throw e;
    });
    if (here) camerasPath = here.path;
    else if (sourcePath && existsSync(sourcePath)) camerasPath = sourcePath;
    else {
      throw new SagaError(
        'BAD_CAMERAS',
        `${root} has no cameras.json${sourcePath ? ` and its training data (${sourcePath}) is not here` : ''}. Give the cameras file or COLMAP folder explicitly.`,
        { dir: root },
      );
    }
  }
  let cameras = await readCameras(camerasPath, imagesDir ? { imagesDir } : {});
  checkAborted(options.signal);

  // nerfstudio trains (and ns-export writes splats) in its data parser's frame, not the frame of
  // transforms.json: bring the cameras into the splats' frame.
  let worldTransform: WorldTransform | undefined;
  const dataparserPath = join(root, 'dataparser_transforms.json');
  if (existsSync(dataparserPath) && (await detectCameraSource(camerasPath)).kind === 'transforms') {
    const transform = await readDataparserTransform(dataparserPath);
    worldTransform = transform;
    cameras = cameras.map((cam) => transformCamera(cam, transform));
    warnings.push(`Applied nerfstudio's ${dataparserPath} to the cameras so they match the exported splats.`);
  }
  const missingImages = await resolveImages(cameras, imagesDir, options.imagesDir !== undefined);
  if (missingImages.length > 0) {
    warnings.push(
      `${missingImages.length} of ${cameras.length} views have no image${imagesDir ? ` in ${imagesDir}` : ' (no images folder found)'}; give the images folder to train on them.`,
    );
  }

  const distorted = cameras.filter((c) => c.distortion && c.distortion.params.some((k) => k !== 0)).length;
  if (distorted > 0) {
    warnings.push(
      `${distorted} views use a lens model with distortion; SAGA treats images as undistorted pinhole views. Undistort them first (colmap image_undistorter) for accurate results.`,
    );
  }
  const resized = await matchImageSizes(cameras);
  if (resized.scaled > 0) {
    warnings.push(`${resized.scaled} views have images of another size than their cameras (a downscaled images folder); their intrinsics were scaled to the images.`);
  }
  if (resized.mismatched.length > 0) {
    warnings.push(`${resized.mismatched.length} views have images that cannot be read or whose shape does not match their camera (${resized.mismatched.slice(0, 3).join(', ')}${resized.mismatched.length > 3 ? ', ...' : ''}); check the images folder.`);
  }

  return {
    layout,
    root,
    scenePath,
    ...(iteration !== undefined ? { iteration } : {}),
    iterations,
    cameras,
    camerasPath,
    missingImages,
    ...(imagesDir !== undefined ? { imagesDir } : {}),
    ...(sourcePath !== undefined ? { sourcePath } : {}),
    ...(config !== undefined ? { config } : {}),
    ...(worldTransform !== undefined ? { worldTransform } : {}),
    warnings,
  };
}
