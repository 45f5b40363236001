/**
 * The engine's plain inputs, read from a project: the views to prepare, the prepared views to train
 * on (with loaders that read the cache), the ground-truth folder a project was imported from. The
 * engine is a library that never opens the project store; the host wires the two here.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SagaError } from '../contract/errors.ts';
import { prepareViews, type PrepareInput, type PrepareOptions, type PrepareResult } from '../engine/masks/prepare.ts';
import { readManifest, readPreparedFeatureBits, readPreparedMasks, viewDir, viewKey } from '../engine/masks/storage.ts';
import type { TrainViewSource } from '../engine/train/trainer.ts';
import { trainingView } from '../engine/train/view-data.ts';
import { isProjectDir, openProject, type Project } from '../project/store.ts';

/** The project's views as prepare input (views without an image fail per view when prepared). */
export function prepareInputOf(project: Project): PrepareInput {
  return { cacheDir: project.cacheDir, views: project.views().map((v) => ({ id: v.id, name: v.name, ...(v.imagePath ? { imagePath: v.imagePath } : {}) })) };
}

/** prepareInputOf for a project folder, without holding its database open during the job. */
export function projectPrepareInput(projectDir: string): PrepareInput {
  const project = openProject(projectDir, { access: 'read' });
  try {
    return prepareInputOf(project);
  } finally {
    project.close();
  }
}

/**
 * The CLI entry: prepares every view of the project in `projectDir`. The project stays open for
 * writing (its lock held) until the run ends, so no other program prepares or trains it meanwhile.
 */
export async function prepareProject(projectDir: string, options: PrepareOptions): Promise<PrepareResult> {
  const project = openProject(projectDir);
  try {
    const input = prepareInputOf(project);
    if (input.views.length === 0) {
      throw new SagaError('BAD_CAMERAS', `The project ${projectDir} has no training views to prepare. Create it from a 3DGS training output with its cameras and images, or make views for a scene without photos with 'saga-studio render-views'.`, { dir: projectDir });
    }
    return await prepareViews(input, options);
  } finally {
    project.close();
  }
}

/** What a training run gets from the project's prepared views. */
export interface TrainingInputs {
  views: TrainViewSource[];
  /** Prepared views left out because they have no masks. */
  withoutMasks: string[];
  /** Views not prepared (yet). */
  unprepared: string[];
  /** Identifies the prepared masks: a prepare run that changes any view changes it (stale features). */
  masksKey: string;
}

/** The project's prepared views as training sources; their masks and features load when a view is first used. */
export function trainingInputs(project: Project): TrainingInputs {
  const views: TrainViewSource[] = [];
  const withoutMasks: string[] = [];
  const unprepared: string[] = [];
  const key = createHash('sha256');
  for (const v of project.views()) {
    const dir = viewDir(project.cacheDir, viewKey(v.id, v.name));
    const manifest = readManifest(dir);
    if (!manifest) {
      unprepared.push(v.name);
      continue;
    }
    key.update(`${v.id}:${manifest.inputKey}:${manifest.masks.length};`);
    if (manifest.masks.length === 0) {
      withoutMasks.push(v.name);
      continue;
    }
    views.push({
      name: v.name,
      camera: v.camera,
      load: async () => {
        // Read again at load time: the cache may have been prepared again since the list was made.
        const m = readManifest(dir);
        if (!m || m.inputKey !== manifest.inputKey) {
          throw new SagaError('BUSY', `View '${v.name}' was prepared again while training ran. Train again to use the new masks.`, { view: v.name });
        }
        const features = readPreparedFeatureBits(dir, m);
        return trainingView(v.name, { manifest: m, masks: readPreparedMasks(dir, m), ...(features ? { features } : {}) });
      },
    });
  }
  return { views, withoutMasks, unprepared, masksKey: key.digest('hex').slice(0, 32) };
}

/**
 * The folder holding the ground truth for evaluation: `dir` itself, or for a SAGA Studio project
 * (project.sqlite) the 3DGS training output folder its scene was imported from.
 */
export async function groundTruthFolder(dir: string): Promise<string> {
  const root = resolve(dir);
  const exists = await stat(root).then(() => true, (e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return false;
    throw e;
  });
  if (!exists) throw new SagaError('PROJECT_NOT_FOUND', `${root} does not exist. Pass --project <dir>, for example a folder made by 'saga-studio synth'.`);
  if (!isProjectDir(root)) return root;
  const project = openProject(root, { access: 'read' });
  let scenePath: string;
  try {
    scenePath = project.scenePath;
  } finally {
    project.close();
  }
  // <output>/point_cloud/iteration_N/point_cloud.ply -> <output>
  const m = /^(.*)[\\/]point_cloud[\\/]iteration_\d+[\\/][^\\/]+$/.exec(scenePath);
  if (!m) throw new SagaError('BAD_ARGUMENT', `The project's scene ${scenePath} is not inside a 3DGS training output folder, so there is no ground truth beside it. Evaluate a project imported from a 'saga-studio synth' folder.`);
  return m[1]!;
}
