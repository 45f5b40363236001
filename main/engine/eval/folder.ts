/**
 * Loads what eval needs from a scene folder with ground truth (a `saga-studio synth` output, or any
 * 3DGS training output folder laid out the same way): the scene with its `object_id` property,
 * cameras, label maps, automatic masks and prompts.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { SagaError } from '../../contract/errors.ts';
import { readCameras } from '../../scene/cameras/index.ts';
import { readScene } from '../../scene/io.ts';
import { latestIterationPly as latestSavedPly } from '../../scene/training-output.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import type { EvalData } from './evaluate.ts';
import type { Mask2D } from '../segment/mask2d.ts';
import { readLabels, readMask } from './png.ts';
import type { EvalPrompt, PromptsFile } from './types.ts';
import type { ViewMasks } from '../segment/types.ts';

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
}

/** point_cloud/iteration_<N>/point_cloud.ply with the highest N (scan in scene/training-output.ts); FILE_NOT_FOUND when none. */
export async function latestIterationPly(dir: string): Promise<string> {
  const ply = await latestSavedPly(dir);
  if (ply !== undefined) return ply;
  throw new SagaError('FILE_NOT_FOUND', `${dir} has no point_cloud/iteration_<N>/point_cloud.ply. Point --project at a 3DGS training output folder (for example one made by 'saga-studio synth').`, { dir });
}

/** The ground-truth object id of every Gaussian, from the `object_id` extra property. */
export function objectIdsOf(scene: GaussianScene, path: string): Int32Array {
  const extra = scene.extras.find((e) => e.name === 'object_id');
  if (!extra) {
    throw new SagaError('BAD_ARGUMENT', `${path} has no per-Gaussian 'object_id' property, so there is no ground truth to score against. Evaluate a scene made by 'saga-studio synth'.`, { file: path });
  }
  return Int32Array.from(extra.data as ArrayLike<number>);
}

/** Automatic masks in the imported-masks format: masks/<view>/<k>.png, non-zero = inside, read once per view. */
export function folderViewMasks(masksDir: string): ViewMasks {
  const cache = new Map<string, Promise<Mask2D[]>>();
  const load = async (view: string): Promise<Mask2D[]> => {
    const dir = join(masksDir, view);
    let files: string[];
    try {
      files = await readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new SagaError('MASKS_MISSING', `No automatic masks for view '${view}' (expected ${dir}/<k>.png). Generate them, or run 'saga-studio synth' with masks.`, { dir });
      }
      throw e;
    }
    const numbered = files
      .map((f) => /^(\d+)\.png$/i.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(a[1]) - Number(b[1]));
    return Promise.all(numbered.map((m) => readMask(join(dir, m[0]))));
  };
  return {
    masksFor(view) {
      let p = cache.get(view);
      if (!p) {
        p = load(view);
        cache.set(view, p);
      }
      return p;
    },
  };
}

export async function readPrompts(path: string): Promise<EvalPrompt[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SagaError('FILE_NOT_FOUND', `${path} does not exist. Pass --prompts <prompts.json> (synth writes one beside the scene).`, { file: path });
    throw new SagaError('FILE_UNREADABLE', `Could not read ${path}: ${e instanceof Error ? e.message : String(e)}.`, { file: path }, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SagaError('BAD_ARGUMENT', `${path} is not valid JSON (${e instanceof Error ? e.message : String(e)}).`, { file: path }, { cause: e });
  }
  const file = parsed as Partial<PromptsFile>;
  if (file.format !== 'saga-studio-prompts' || !Array.isArray(file.prompts)) {
    throw new SagaError('BAD_ARGUMENT', `${path} is not a prompts file (expected {"format": "saga-studio-prompts", "prompts": [...]}, as 'saga-studio synth' writes).`, { file: path });
  }
  file.prompts.forEach((p, i) => {
    const ok =
      typeof p.id === 'string' && Number.isInteger(p.targetId) && typeof p.view === 'string' && Array.isArray(p.points) &&
      p.points.every((q) => Number.isFinite(q.x) && Number.isFinite(q.y) && (q.label === 0 || q.label === 1)) &&
      Array.isArray(p.scribble) && Array.isArray(p.box) && p.box.length === 4;
    if (!ok) throw new SagaError('BAD_ARGUMENT', `Prompt ${i} in ${path} is malformed: it needs id, targetId, view, points [{x, y, label}], scribble and box.`, { file: path, prompt: i });
  });
  return file.prompts;
}

/**
 * Reads scene, truth, cameras, label maps and masks of a folder with ground truth (a synth output;
 * for a project, the host finds its source folder first: host/project-inputs.ts) for `evaluate`.
 */
export async function loadEvalFolder(dir: string, promptsPath?: string): Promise<EvalData> {
  const root = resolve(dir);
  if (!(await exists(root))) throw new SagaError('PROJECT_NOT_FOUND', `${root} does not exist. Pass --project <dir>, for example a folder made by 'saga-studio synth'.`);
  const ply = await latestIterationPly(root);
  const scene = await readScene(ply);
  const objectIds = objectIdsOf(scene, ply);
  const cameras = await readCameras(join(root, 'cameras.json'));
  const labels = new Map<string, Uint16Array>();
  for (const c of cameras) {
    const path = join(root, 'labels', `${c.name}.png`);
    if (!(await exists(path))) continue;
    const l = await readLabels(path);
    if (l.width !== c.width || l.height !== c.height) {
      throw new SagaError('SIZE_MISMATCH', `${path} is ${l.width}x${l.height} but view '${c.name}' is ${c.width}x${c.height}.`, { file: path });
    }
    labels.set(c.name, l.labels);
  }
  if (labels.size === 0) throw new SagaError('FILE_NOT_FOUND', `${root}/labels/ holds no label maps for the scene's views, so 2D scores cannot be computed. Use a folder made by 'saga-studio synth'.`);
  const prompts = await readPrompts(promptsPath ?? join(root, 'prompts.json'));
  return { name: basename(root), scene, cameras, objectIds, labels, masks: folderViewMasks(join(root, 'masks')), prompts };
}
