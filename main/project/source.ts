/**
 * Turns what a user points at (a scene file, a 3DGS training output folder, or a folder holding a
 * scene, cameras.json and images/) into a ProjectSource: the scene read and checked, its checksum,
 * and the training views. Nothing is written here, so a bad input leaves no project behind.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { JobProgress, SceneSummary } from '../contract/api.ts';
import { SagaError, isSagaError } from '../contract/errors.ts';
import type { Camera } from '../scene/camera.ts';
import { sceneBounds, type GaussianScene } from '../scene/gaussians.ts';
import { readScene } from '../scene/io.ts';
import { standardPlyNames } from '../scene/ply-writer.ts';
import { findTrainingOutput } from '../scene/training-output.ts';
import { sha256File } from './checksum.ts';
import type { ProjectSource } from './store.ts';

export interface ResolveSourceOptions {
  /** Images folder overriding the one the layout implies. */
  images?: string;
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress) => void;
}

export interface ResolvedSource {
  source: ProjectSource;
  /** The scene as read, so the caller need not read it twice. */
  scene: GaussianScene;
  /** Names of views whose image was not found. */
  missingImages: string[];
  /** Things worth telling the user that did not stop the import. */
  warnings: string[];
}

/** The PLY property names a scene carries: the file's own order when known, else the standard set. */
export function sceneProperties(scene: GaussianScene): string[] {
  const fromFile = scene.source?.plyProperties?.map((p) => p.name);
  if (fromFile && fromFile.length > 0) return fromFile;
  return [...standardPlyNames(scene), ...scene.extras.map((e) => e.name)];
}

export function summarizeScene(scene: GaussianScene, path: string): SceneSummary {
  return {
    path,
    format: scene.source?.format ?? 'ply',
    count: scene.count,
    shDegree: scene.shDegree,
    bounds: sceneBounds(scene),
    properties: sceneProperties(scene),
  };
}

export async function resolveProjectSource(input: string, options: ResolveSourceOptions = {}): Promise<ResolvedSource> {
  const path = resolve(input);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    if (code === 'ENOENT') throw new SagaError('FILE_NOT_FOUND', `No such file or folder: ${path}. Check the path.`, { path });
    throw new SagaError('FILE_UNREADABLE', `Cannot read ${path}: ${e instanceof Error ? e.message : String(e)}.`, { path }, { cause: e });
  }

  const warnings: string[] = [];
  let scenePath = path;
  let views: Camera[] = [];
  let missingImages: string[] = [];
  let imagesDir: string | undefined = options.images ? resolve(options.images) : undefined;
  try {
    const found = await findTrainingOutput(path, { ...(imagesDir ? { imagesDir } : {}), signal: options.signal });
    scenePath = found.scenePath;
    views = found.cameras;
    missingImages = found.missingImages;
    imagesDir = found.imagesDir ?? imagesDir;
    warnings.push(...found.warnings);
  } catch (e) {
    // A lone scene file without cameras is a valid source (the views come later); a folder must
    // say where its scene and cameras are, so its errors stand.
    if (!isDirectory && isSagaError(e, 'BAD_CAMERAS')) {
      warnings.push('No cameras.json or training data beside the scene: the project has no training views yet.');
    } else {
      throw e;
    }
  }

  const report = options.onProgress;
  const scene = await readScene(scenePath, { signal: options.signal, onProgress: report });
  const bytes = (await stat(scenePath)).size;
  const checksum = await sha256File(scenePath, { signal: options.signal, onProgress: report });
  const summary = summarizeScene(scene, scenePath);
  return {
    scene,
    missingImages,
    warnings,
    source: {
      scenePath,
      format: summary.format,
      count: scene.count,
      shDegree: scene.shDegree,
      bytes,
      checksum,
      bounds: summary.bounds,
      properties: summary.properties,
      ...(imagesDir ? { imagesDir } : {}),
      views,
    },
  };
}
