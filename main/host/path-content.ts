/**
 * What a path given to "Open Scene" holds (PathContent), so the editor can offer the right thing
 * instead of guessing: a project folder, a 3DGS training output that wants a project, or a scene.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PathContent, RecentProject } from '../contract/api.ts';
import { isSagaError } from '../contract/errors.ts';
import { isProjectDir } from '../project/store.ts';
import { findTrainingOutput } from '../scene/training-output.ts';

/** `recent`: the recent projects, searched for projects made from the same scene. */
export async function inspectPath(path: string, recent: readonly RecentProject[]): Promise<PathContent> {
  const abs = resolve(path);
  const info = await stat(abs).catch((e: unknown) => {
    // Missing or unreadable: opening it as a scene reports that in the words of the scene reader.
    void e;
    return undefined;
  });
  if (!info) return { kind: 'scene', path: abs };
  if (info.isDirectory() && isProjectDir(abs)) return { kind: 'project', dir: abs };
  let output;
  try {
    output = await findTrainingOutput(abs);
  } catch (e) {
    // No cameras, no scene, not a scene file: nothing to make a project of. Opening it as a scene
    // either works (a folder with one scene) or says what is wrong.
    if (isSagaError(e)) return { kind: 'scene', path: abs };
    throw e;
  }
  if (output.cameras.length === 0) return { kind: 'scene', path: abs };
  const scenePath = resolve(output.scenePath);
  return {
    kind: 'training-output',
    dir: output.root,
    scenePath,
    views: output.cameras.length,
    projects: recent.filter((p) => p.scenePath !== undefined && resolve(p.scenePath) === scenePath && isProjectDir(p.dir)),
  };
}
