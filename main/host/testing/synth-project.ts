/**
 * A small prepared project for training and segmentation tests: a synthetic scene with ground truth
 * (saga-studio synth), imported as a project, its views prepared with the oracle's masks.
 *
 * With `sam`, the views are prepared with that SAM model (source 'sam', its image embeddings), and
 * their masks are then replaced by the oracle's: a tiny test model's automatic masks are discs at
 * grid points that no training can learn objects from, while a real SAM's follow the objects.
 */
import { join } from 'node:path';
import { writeSynthFolder } from '../../engine/synth/folder.ts';
import type { SynthKind } from '../../engine/synth/generate.ts';
import { prepareViews } from '../../engine/masks/prepare.ts';
import type { SamModelFiles } from '../../engine/masks/sam.ts';
import { listPreparedViews, readPreparedFeatureBits, readPreparedMasks, writePreparedView } from '../../engine/masks/storage.ts';
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

export async function synthProject(root: string, o: { seed?: number; gaussians?: number; views?: number; width?: number; height?: number; kind?: SynthKind; sam?: SamModelFiles } = {}): Promise<SynthProject> {
  const synthDir = join(root, 'synth');
  await writeSynthFolder(synthDir, { seed: o.seed ?? 5, gaussians: o.gaussians ?? 4000, views: o.views ?? 4, width: o.width ?? 96, height: o.height ?? 72, kind: o.kind ?? 'tabletop', force: true });
  const resolved = await resolveProjectSource(synthDir, {});
  const projectDir = join(root, 'project');
  const project = createProject(projectDir, { source: resolved.source });
  try {
    const imported = { kind: 'imported', folder: join(synthDir, 'masks') } as const;
    if (!o.sam) await prepareViews(prepareInputOf(project), { masks: imported });
    else {
      const input = prepareInputOf(project);
      const oracleCache = join(root, 'oracle-cache');
      await prepareViews({ ...input, cacheDir: oracleCache }, { masks: imported });
      await prepareViews(input, { masks: { kind: 'sam', model: o.sam, amg: { pointsPerSide: 2 }, threads: 1 } });
      const oracle = new Map(listPreparedViews(oracleCache).map((v) => [v.key, v]));
      for (const { key, dir, manifest } of listPreparedViews(input.cacheDir)) {
        const truth = oracle.get(key)!;
        const { version, ...rest } = manifest;
        void version;
        writePreparedView(dir, { ...rest, maskWidth: truth.manifest.maskWidth, maskHeight: truth.manifest.maskHeight, masks: truth.manifest.masks }, readPreparedMasks(truth.dir, truth.manifest), readPreparedFeatureBits(dir, manifest));
      }
    }
  } finally {
    project.close();
  }
  const ids = resolved.scene.extras.find((e) => e.name === 'object_id')!.data;
  return { synthDir, projectDir, scene: resolved.scene, objectIds: Int32Array.from(ids as ArrayLike<number>) };
}
