import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../../e2e/fixtures.ts';
import { lookAtCamera } from '../../scene/camera.ts';
import { writeInriaCameras } from '../../scene/cameras/index.ts';
import { openProject, PROJECT_DB } from '../../project/store.ts';
import { main } from '../cli.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-import-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('saga-studio import', () => {
  it('imports an INRIA PLY file and the project reopens with its checksum and count', async () => {
    const scene = sharedScene(SCENES.inria);
    const dir = join(root, 'inria');
    const { code, out, err } = await runCli(['import', scene, '--project', dir, '--name', 'INRIA fixture']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain('9080 splats');
    expect(out).toContain('views:  0');
    const project = openProject(dir);
    const info = project.info();
    expect(info.name).toBe('INRIA fixture');
    expect(info.scene).toMatchObject({ path: scene, format: 'ply', count: 9080, shDegree: 3, checksum: sha256(scene) });
    expect(info.scene.properties).toHaveLength(62);
    project.close();
  });

  it('imports the PlayCanvas compressed guitar', async () => {
    const scene = sharedScene(SCENES.guitar);
    const dir = join(root, 'guitar');
    const { code, out } = await runCli(['import', scene, '--project', dir]);
    expect(code).toBe(0);
    expect(out).toContain('compressed-ply, 90854 splats');
    const project = openProject(dir);
    expect(project.info().scene.checksum).toBe(sha256(scene));
    project.close();
  });

  it('imports a folder holding a scene, cameras.json and images/, listing missing images', async () => {
    const src = join(root, 'plain-output');
    mkdirSync(join(src, 'images'), { recursive: true });
    copyFileSync(sharedScene(SCENES.inria), join(src, 'scene.ply'));
    const cameras = [0, 1, 2].map((i) => ({
      ...lookAtCamera(`view-${i}`, [3 * Math.cos(i * 2), 0.5, 3 * Math.sin(i * 2)], [0, 0, 0], [0, -1, 0], 16, 12, 0.9),
      imagePath: join(src, 'images', `view-${i}.png`),
    }));
    await writeInriaCameras(cameras, join(src, 'cameras.json'));
    // Views 0 and 1 have their photos; view 2's is missing (as in output folders copied without them).
    for (const i of [0, 1]) writeFileSync(join(src, 'images', `view-${i}.png`), encode({ width: 16, height: 12, data: new Uint8Array(16 * 12 * 3).fill(90 * i), channels: 3 }));

    const dir = join(root, 'from-folder');
    const { code, out } = await runCli(['import', src, '--project', dir]);
    expect(code).toBe(0);
    expect(out).toContain('9080 splats');
    expect(out).toContain('views:  3');
    expect(out).toMatch(/missing images: 1 \(view-2\)/);
    const project = openProject(dir);
    const views = project.views();
    expect(views.map((v) => v.name)).toEqual(['view-0', 'view-1', 'view-2']);
    expect(views[0]!.imagePath).toBe(join(src, 'images', 'view-0.png'));
    expect(views[1]!.camera.fx).toBeCloseTo(cameras[1]!.fx, 9);
    expect(project.sceneSource().imagesDir).toBe(join(src, 'images'));
    expect(project.info()).toMatchObject({ imagesDir: join(src, 'images'), missingImages: ['view-2'] });
    project.close();

    // --images points at another folder holding all three photos.
    const photos = join(root, 'photos');
    mkdirSync(photos);
    for (const i of [0, 1, 2]) writeFileSync(join(photos, `view-${i}.png`), encode({ width: 16, height: 12, data: new Uint8Array(16 * 12 * 3), channels: 3 }));
    const second = await runCli(['import', src, '--images', photos, '--project', join(root, 'with-images')]);
    expect(second.code).toBe(0);
    expect(second.out).toContain('missing images: 0');
    expect(second.out).toContain(`images in ${photos}`);
  });

  it('refuses an existing project, a missing --project and a truncated scene, leaving no project behind', async () => {
    const scene = sharedScene(SCENES.inria);
    const dir = join(root, 'twice');
    expect((await runCli(['import', scene, '--project', dir])).code).toBe(0);
    const dbBytes = readFileSync(join(dir, PROJECT_DB));
    const again = await runCli(['import', scene, '--project', dir]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already holds a project/);
    expect(readFileSync(join(dir, PROJECT_DB)).equals(dbBytes)).toBe(true);

    const noProject = await runCli(['import', scene]);
    expect(noProject.code).toBe(2);
    expect(noProject.err).toContain('--project');

    const truncated = join(root, 'truncated.ply');
    const bytes = readFileSync(scene);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const broken = await runCli(['import', truncated, '--project', join(root, 'broken')]);
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/truncated|ends|bytes/i);
    expect(existsSync(join(root, 'broken', PROJECT_DB))).toBe(false);
  });
});
