import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedScene, SCENES } from '../../../e2e/fixtures.ts';
import { readCameras } from '../../scene/cameras/index.ts';
import { readScene, writeScene } from '../../scene/io.ts';
import { main } from '../cli.ts';
import { resolveProjectSource } from '../../project/source.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) }, out, err };
}

describe('saga-studio render and render-views', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saga-render-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders the guitar from an orbit camera to a PNG with the object in view', async () => {
    const c = capture();
    const file = join(dir, 'guitar.png');
    const code = await main(['render', sharedScene(SCENES.guitar), '--camera', 'orbit:0/8', '--out', file, '--width', '96'], c.io);
    expect(c.err.join('')).toBe('');
    expect(code).toBe(0);
    const png = decode(readFileSync(file));
    expect([png.width, png.height]).toEqual([96, 72]);
    let lit = 0;
    for (let i = 0; i < png.data.length; i += png.channels) if (png.data[i]! + png.data[i + 1]! + png.data[i + 2]! > 60) lit++;
    expect(lit).toBeGreaterThan(200);
  });

  it('writes orbit views in the INRIA layout that render can read back by view name', async () => {
    const views = join(dir, 'views');
    const c = capture();
    const code = await main(['render-views', sharedScene(SCENES.inria), '--orbit', '2', '--out', views, '--width', '40', '--height', '30'], c.io);
    expect(code).toBe(0);
    const cameras = await readCameras(join(views, 'cameras.json'));
    expect(cameras.map((cam) => cam.name)).toEqual(['orbit-0', 'orbit-1']);
    const written = decode(readFileSync(join(views, 'images', 'orbit-1.png')));
    expect([written.width, written.height]).toEqual([40, 30]);
    // The folder is a capture a project is made from as it is (the editor points people here).
    const source = await resolveProjectSource(views);
    expect(source.source.views.map((v) => v.name)).toEqual(['orbit-0', 'orbit-1']);
    expect(source.source.scenePath).toBe(join(views, basename(sharedScene(SCENES.inria))));
    const again = join(dir, 'again.png');
    expect(await main(['render', sharedScene(SCENES.inria), '--camera', `${join(views, 'cameras.json')}#orbit-1`, '--out', again], capture().io)).toBe(0);
    expect(Buffer.from(decode(readFileSync(again)).data)).toEqual(Buffer.from(written.data));
    // The folder itself stands for its scene, and its cameras are named directly.
    const fromFolder = join(dir, 'from-folder.png');
    const c2 = capture();
    expect(await main(['render', views, '--camera', 'orbit-1', '--out', fromFolder], c2.io), c2.err.join('')).toBe(0);
    expect(Buffer.from(decode(readFileSync(fromFolder)).data)).toEqual(Buffer.from(written.data));
  });

  it('renders a project (as the README says): its scene, from one of its training views by name or index', async () => {
    // A training output folder: the scene beside its cameras.json and images/, imported as a project.
    const capture0 = join(dir, 'capture');
    expect(await main(['render-views', sharedScene(SCENES.inria), '--orbit', '3', '--out', capture0, '--width', '40', '--height', '30'], capture().io)).toBe(0);
    copyFileSync(sharedScene(SCENES.inria), join(capture0, 'point_cloud.ply'));
    const project = join(dir, 'project');
    const imported = capture();
    expect(await main(['import', capture0, '--project', project], imported.io), imported.err.join('')).toBe(0);

    const byName = join(dir, 'project-orbit-2.png');
    const c = capture();
    expect(await main(['render', project, '--camera', 'orbit-2', '--out', byName], c.io), c.err.join('')).toBe(0);
    const written = decode(readFileSync(join(capture0, 'images', 'orbit-2.png')));
    expect(Buffer.from(decode(readFileSync(byName)).data)).toEqual(Buffer.from(written.data));
    const byIndex = join(dir, 'project-2.png');
    expect(await main(['render', project, '--camera', '2', '--out', byIndex], capture().io)).toBe(0);
    expect(readFileSync(byIndex).equals(readFileSync(byName))).toBe(true);
    // The other camera forms work on a project's scene too.
    expect(await main(['render', project, '--camera', 'orbit:0/4', '--out', join(dir, 'project-orbit.png'), '--width', '32'], capture().io)).toBe(0);

    const missing = capture();
    expect(await main(['render', project, '--camera', 'no-such-view', '--out', join(dir, 'x.png')], missing.io)).toBe(2);
    expect(missing.err.join('')).toMatch(/has no view 'no-such-view' \(3 views, indices 0-2: orbit-0, orbit-1, orbit-2\)/);
  });

  it('refuses bad arguments with exit code 2 and a helpful message', async () => {
    const c = capture();
    expect(await main(['render', sharedScene(SCENES.inria), '--camera', 'nowhere', '--out', join(dir, 'x.png')], c.io)).toBe(2);
    expect(c.err.join('')).toMatch(/orbit:i\/n/);
    const d = capture();
    expect(await main(['render-views', sharedScene(SCENES.inria), '--out', dir], d.io)).toBe(2);
    expect(d.err.join('')).toMatch(/--orbit/);
  });

  it('renders stored per-Gaussian features as a PCA image, and refuses a scene that has none', async () => {
    const plain = capture();
    const refused = await main(['render', sharedScene(SCENES.inria), '--camera', 'orbit:0/4', '--out', join(dir, 'no.png'), '--features', 'pca'], plain.io);
    expect(refused).toBe(2);
    expect(plain.err.join('')).toMatch(/no per-Gaussian features/);

    // Features that split the scene in two halves along x: the PCA image must show two colours.
    const scene = await readScene(sharedScene(SCENES.inria));
    const dim = 4;
    for (let c = 0; c < dim; c++) {
      const data = new Float32Array(scene.count);
      for (let i = 0; i < scene.count; i++) data[i] = (scene.positions[i * 3]! > 0 ? 1 : -1) * (c + 1);
      scene.extras.push({ name: `f_feat_${c}`, type: 'float', data });
    }
    const withFeatures = join(dir, 'features.ply');
    await writeScene(scene, withFeatures);
    const out = join(dir, 'pca.png');
    const c = capture();
    expect(await main(['render', withFeatures, '--camera', 'orbit:0/4', '--out', out, '--width', '64', '--features', 'pca'], c.io)).toBe(0);
    expect(c.out.join('')).toMatch(/features PCA of 4 channels/);
    const png = decode(readFileSync(out));
    const colours = new Set<string>();
    for (let i = 0; i < png.data.length; i += png.channels) {
      const r = png.data[i]!;
      const g = png.data[i + 1]!;
      const b = png.data[i + 2]!;
      if (r + g + b > 60) colours.add(`${r >> 5},${g >> 5},${b >> 5}`);
    }
    expect(colours.size).toBeGreaterThan(1);
  });
});
