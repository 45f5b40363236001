import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { lookAtCamera } from '../scene/camera.ts';
import { writeInriaCameras } from '../scene/cameras/index.ts';
import { resolveProjectSource } from './source.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-source-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolveProjectSource', () => {
  it('takes a gaussian-splatting output folder: latest iteration, cameras, missing images', async () => {
    const out = join(root, 'output');
    for (const it of [7000, 30000]) mkdirSync(join(out, 'point_cloud', `iteration_${it}`), { recursive: true });
    copyFileSync(sharedScene(SCENES.inria), join(out, 'point_cloud', 'iteration_30000', 'point_cloud.ply'));
    copyFileSync(sharedScene(SCENES.compressedSh3), join(out, 'point_cloud', 'iteration_7000', 'point_cloud.ply'));
    const cams = [0, 1].map((i) => lookAtCamera(`frame_${i}`, [2, i, 2], [0, 0, 0], [0, -1, 0], 32, 24, 1));
    await writeInriaCameras(cams, join(out, 'cameras.json'));

    const resolved = await resolveProjectSource(out);
    expect(resolved.source.scenePath).toBe(join(out, 'point_cloud', 'iteration_30000', 'point_cloud.ply'));
    expect(resolved.source.count).toBe(9080);
    expect(resolved.scene.count).toBe(9080);
    expect(resolved.source.views.map((v) => v.name)).toEqual(['frame_0', 'frame_1']);
    expect(resolved.missingImages).toEqual(['frame_0', 'frame_1']);
    expect(resolved.source.properties.slice(0, 3)).toEqual(['x', 'y', 'z']);
    expect(resolved.source.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it('takes a lone scene file with no views, and says why', async () => {
    const resolved = await resolveProjectSource(sharedScene(SCENES.antimatter));
    expect(resolved.source).toMatchObject({ format: 'splat', count: 22764, views: [] });
    expect(resolved.warnings.join(' ')).toMatch(/no training views/);
  });

  it('refuses a missing path and an empty folder with errors that say what to do', async () => {
    await expect(resolveProjectSource(join(root, 'absent'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(resolveProjectSource(empty)).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT', message: expect.stringContaining('point_cloud/iteration_<N>') });
  });
});
