/**
 * Test and benchmark views: the shared guitar scene rendered with the CPU reference rasterizer from
 * orbit cameras, written as PNGs (the same files a training set would hold).
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { orbitCameras } from '../../raster/orbit.ts';
import { renderReference } from '../../raster/reference.ts';
import type { Camera } from '../../../scene/camera.ts';
import { readScene } from '../../../scene/io.ts';
import { sceneBounds } from '../../../scene/gaussians.ts';
import { sha256File } from '../../../project/checksum.ts';
import type { ProjectSource } from '../../../project/store.ts';
import { encodeRgbPng } from '../image.ts';

export async function renderViewImages(scenePath: string, dir: string, count: number, width: number, height: number): Promise<(Camera & { imagePath: string })[]> {
  const scene = await readScene(scenePath);
  mkdirSync(dir, { recursive: true });
  return orbitCameras(scene, count, { width, height }).map((cam) => {
    const out = renderReference(scene, cam, { width, height });
    const data = new Uint8Array(width * height * 3);
    for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(1, Math.max(0, out.color[i]!)) * 255);
    const imagePath = join(dir, `${cam.name}.png`);
    writeFileSync(imagePath, encodeRgbPng({ width, height, data }));
    return { ...cam, imagePath };
  });
}

/** The project source record of a scene file with the given views, for tests that create a project directly. */
export async function projectSourceFor(scenePath: string, views: Camera[], imagesDir?: string): Promise<ProjectSource> {
  const scene = await readScene(scenePath);
  return {
    scenePath,
    format: scene.source?.format ?? 'ply',
    count: scene.count,
    shDegree: scene.shDegree,
    bytes: statSync(scenePath).size,
    checksum: await sha256File(scenePath),
    bounds: sceneBounds(scene),
    properties: [],
    views,
    ...(imagesDir === undefined ? {} : { imagesDir }),
  };
}
