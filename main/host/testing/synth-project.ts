/**
 * A small prepared project for training and segmentation tests: a synthetic scene with ground truth
 * (saga-studio synth), imported as a project, its views prepared with the oracle's masks.
 */
import { join } from 'node:path';
import { writeSynthFolder } from '../../engine/synth/folder.ts';
import type { SynthKind } from '../../engine/synth/generate.ts';
import { prepareViews } from '../../engine/masks/prepare.ts';
import { resolveProjectSource } from '../../project/source.ts';
import { createProject } from '../../project/store.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { prepareInputOf } from '../project-inputs.ts';

export interface SynthProject {
  /** The synth output folder (ground truth, prompts) and the project folder. */
  synthDir: string;
  projectDir: string;
  scene: GaussianScene;
  objectIds: Int32Array;
}

export async function synthProject(root: string, o: { seed?: number; gaussians?: number; views?: number; width?: number; height?: number; kind?: SynthKind } = {}): Promise<SynthProject> {
  const synthDir = join(root, 'synth');
  await writeSynthFolder(synthDir, { seed: o.seed ?? 5, gaussians: o.gaussians ?? 4000, views: o.views ?? 4, width: o.width ?? 96, height: o.height ?? 72, kind: o.kind ?? 'tabletop', force: true });
  const resolved = await resolveProjectSource(synthDir, {});
  const projectDir = join(root, 'project');
  const project = createProject(projectDir, { source: resolved.source });
  try {
    await prepareViews(prepareInputOf(project), { masks: { kind: 'imported', folder: join(synthDir, 'masks') } });
  } finally {
    project.close();
  }
  const ids = resolved.scene.extras.find((e) => e.name === 'object_id')!.data;
  return { synthDir, projectDir, scene: resolved.scene, objectIds: Int32Array.from(ids as ArrayLike<number>) };
}
