/**
 * The scene a path names when it may be a folder: a 3DGS training output's latest point cloud, or
 * the one scene file of a plain folder. Opening a folder "as a scene" (the editor's Open Scene,
 * `saga-studio info` and `render`) goes through here, so they agree on what a folder holds.
 */
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { SagaError, isSagaError } from '../contract/errors.ts';
import { findTrainingOutput, latestIterationPly } from './training-output.ts';

const SCENE_EXTENSIONS = new Set(['.ply', '.splat', '.spz']);

/** The scene file inside `dir`. Cameras are not needed just to view it, so their absence is no error. */
export async function sceneInFolder(dir: string): Promise<string> {
  try {
    return (await findTrainingOutput(dir)).scenePath;
  } catch (e) {
    if (!isSagaError(e, 'BAD_CAMERAS')) throw e;
  }
  const latest = await latestIterationPly(dir);
  if (latest !== undefined) return latest;
  const scenes = (await readdir(dir)).filter((f) => SCENE_EXTENSIONS.has(extname(f).toLowerCase()));
  if (scenes.length === 1) return join(dir, scenes[0]!);
  throw new SagaError(
    'UNSUPPORTED_FORMAT',
    scenes.length === 0
      ? `${dir} is a folder that holds no scene file (.ply, .splat, .spz). Give the scene file, or a 3DGS training output folder (with point_cloud/iteration_<N>/point_cloud.ply).`
      : `${dir} holds ${scenes.length} scene files (${scenes.slice(0, 4).join(', ')}${scenes.length > 4 ? ', ...' : ''}). Give one of them.`,
    { dir },
  );
}

/**
 * The scene file `path` names: the path itself, or for a folder the scene inside it. A missing
 * path is returned as it is, for the scene reader to report.
 */
export async function resolveScenePath(path: string): Promise<string> {
  const abs = resolve(path);
  const info = await stat(abs).catch((e: unknown) => {
    // Missing or unreadable: the scene reader turns that into the right SagaError.
    void e;
    return undefined;
  });
  return info?.isDirectory() ? sceneInFolder(abs) : abs;
}
