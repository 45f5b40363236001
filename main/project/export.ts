/**
 * Saving the edited scene ("Save edited scene", "Export layer", `saga-studio export`): which rows
 * to write, where, and with which extra properties. Everything that can be refused is refused by
 * planExport before a byte is written: an unknown extension, the project's own source scene
 * without `replaceSource`, an existing file without `overwrite`, a missing or read-only folder,
 * nothing to save, features that are not there. writeExport then writes atomically.
 */
import { randomBytes } from 'node:crypto';
import { stat, open, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ExportParams, ExportSummary } from '../contract/api.ts';
import { SagaError } from '../contract/errors.ts';
import { writeFailed } from '../common/atomic-write.ts';
import { featurePropertyName, isFeatureProperty } from '../scene/feature-properties.ts';
import type { GaussianScene } from '../scene/gaussians.ts';
import { outputFormatFor, readScene } from '../scene/io.ts';
import { writeSceneRows, type FloatColumns } from '../scene/write-rows.ts';
import { listCheckpoints, readTrainedFeatures } from './checkpoints.ts';
import type { ProjectEditor } from './editor.ts';
import type { Project } from './store.ts';

/** A checked export, ready to write. */
export interface ExportPlan {
  path: string;
  format: 'ply' | 'splat' | 'spz';
  /** Scene rows to write, ascending. */
  rows: Uint32Array;
  /** Add the trained features of this project folder. */
  featuresFrom?: string;
}

const isMissing = (e: unknown) => e instanceof Error && 'code' in e && (e.code === 'ENOENT' || e.code === 'ENOTDIR');

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw writeFailed(path, e);
  }
}

/**
 * Checks an export of the open project and works out its rows. Writes nothing but a probe file in
 * the target folder (created and removed at once) to learn whether the folder takes new files.
 */
export async function planExport(project: Project, editor: ProjectEditor, params: ExportParams): Promise<ExportPlan> {
  const path = resolve(params.path);
  const format = outputFormatFor(path);
  if (params.features && format !== 'ply') {
    throw new SagaError('BAD_ARGUMENT', `Trained features can only be saved in a .ply file (${format} has no room for extra properties). Choose a .ply name, or save without features.`, { path });
  }
  const sourcePath = resolve(project.sceneSource().scenePath);
  const [target, source] = await Promise.all([statOrUndefined(path), statOrUndefined(sourcePath)]);
  if (target?.isDirectory()) throw new SagaError('BAD_ARGUMENT', `${path} is a folder. Give a file name ending in .ply, .splat or .spz.`, { path });
  const isSource = path === sourcePath || (target !== undefined && source !== undefined && target.dev === source.dev && target.ino === source.ino);
  if (isSource && !params.replaceSource) {
    throw new SagaError(
      'FILE_EXISTS',
      `${path} is this project's source scene. Saving over it replaces the scene the project edits, and the project could no longer be opened with its edits. Choose another file name, or confirm replacing the source scene.`,
      { path, source: true },
    );
  }
  if (target && !isSource && !params.overwrite) {
    throw new SagaError('FILE_EXISTS', `${path} already exists. Choose another file name, or confirm replacing it.`, { path, source: false });
  }
  const folder = dirname(path);
  const folderInfo = await statOrUndefined(folder);
  if (!folderInfo?.isDirectory()) {
    throw new SagaError('WRITE_FAILED', `Could not write ${path}: the folder ${folder} does not exist. Choose an existing folder.`, { path, folder });
  }
  await probeFolder(path);
  const rows = editor.keptRows({ ...(params.layer !== undefined ? { layer: params.layer } : {}), ...(params.includeHidden ? { includeHidden: true } : {}) });
  if (rows.length === 0) {
    const what = params.layer !== undefined ? `The layer "${editor.layer(params.layer).name}" has no Gaussians left to save` : 'There are no Gaussians left to save: every one is deleted or hidden';
    throw new SagaError('EMPTY_SCENE', `${what}. Undo a deletion, show a layer, or include hidden Gaussians.`, { path });
  }
  if (params.features && listCheckpoints(project.dir).length === 0) throw noFeatures();
  return { path, format, rows, ...(params.features ? { featuresFrom: project.dir } : {}) };
}

/** Permission bits say little (root writes anywhere, read-only mounts refuse everyone): try it. */
async function probeFolder(path: string): Promise<void> {
  const probe = `${path}.probe-${randomBytes(4).toString('hex')}`;
  try {
    await (await open(probe, 'wx')).close();
  } catch (e) {
    throw writeFailed(path, e);
  }
  await unlink(probe);
}

function noFeatures(): SagaError {
  return new SagaError('FEATURES_MISSING', 'This project has no trained features yet. Train it first, or save without features.');
}

/** Writes a planned export of `scene` (the project's source scene, read in full). */
export async function writeExport(scene: GaussianScene, plan: ExportPlan, options: { signal?: AbortSignal; onProgress?: (p: { stage: string; done: number; total: number }) => void } = {}): Promise<ExportSummary> {
  const started = performance.now();
  let columns: FloatColumns | undefined;
  let source = scene;
  if (plan.featuresFrom !== undefined) {
    const trained = readTrainedFeatures(plan.featuresFrom, scene.count);
    if (!trained) throw noFeatures();
    columns = { names: Array.from({ length: trained.dim }, (_, c) => featurePropertyName(c)), data: trained.features };
    // Features the scene already carries (a scene saved with features before) give way to the trained ones.
    source = { ...scene, extras: scene.extras.filter((e) => !isFeatureProperty(e.name)) };
  }
  const bytes = await writeSceneRows(source, plan.rows, plan.path, { ...(columns ? { columns } : {}), ...options });
  return { path: plan.path, format: plan.format, count: plan.rows.length, bytes, featureDim: columns?.names.length ?? 0, elapsedMs: performance.now() - started };
}

/**
 * Reads the project's source scene for a save, refusing a file that changed since the project was
 * made (the edits refer to its rows).
 */
export async function readProjectScene(project: Project): Promise<GaussianScene> {
  const source = project.sceneSource();
  const info = await stat(source.scenePath).catch((e: unknown) => {
    throw new SagaError('FILE_NOT_FOUND', `The project's scene ${source.scenePath} is missing. Put the file back (or restore it from a backup) and try again.`, { path: source.scenePath }, { cause: e });
  });
  if (info.size !== source.bytes) {
    throw new SagaError('SIZE_MISMATCH', `The project's scene ${source.scenePath} changed since the project was created (${info.size} bytes, was ${source.bytes}). Restore the original file: the project's edits refer to its rows.`, { path: source.scenePath });
  }
  const scene = await readScene(source.scenePath);
  if (scene.count !== source.count) {
    throw new SagaError('SIZE_MISMATCH', `The project's scene ${source.scenePath} now holds ${scene.count} Gaussians, not ${source.count}. Restore the original file.`, { path: source.scenePath });
  }
  return scene;
}
