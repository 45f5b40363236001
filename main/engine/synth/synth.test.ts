import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCameras } from '../../scene/cameras/index.ts';
import { readScene } from '../../scene/io.ts';
import { SH_C0, type GaussianScene } from '../../scene/gaussians.ts';
import { renderReference } from '../raster/reference.ts';
import { readLabels } from '../eval/png.ts';
import { generateSynthScene, SYNTH_KINDS } from './generate.ts';
import { writeSynthFolder, type SynthFolderOptions } from './folder.ts';
import { SYNTH_BACKGROUND } from './views.ts';
import { main } from '../../host/cli.ts';
import { resolveProjectSource } from '../../project/source.ts';
import { createProject, openProject } from '../../project/store.ts';

const TINY: SynthFolderOptions = { seed: 3, gaussians: 4000, views: 4, width: 80, height: 60, kind: 'tabletop' };

async function filesOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

async function digest(dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const f of await filesOf(dir)) m.set(f, createHash('sha256').update(await readFile(join(dir, f))).digest('hex'));
  return m;
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'saga-synth-test-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('synthetic scenes', () => {
  it('are the same bytes for the same seed, and differ for another seed', async () => {
    const a = await writeSynthFolder(join(work, 'a'), TINY);
    await writeSynthFolder(join(work, 'b'), TINY);
    await writeSynthFolder(join(work, 'c'), { ...TINY, seed: 4 });
    const [da, db, dc] = await Promise.all([digest(join(work, 'a')), digest(join(work, 'b')), digest(join(work, 'c'))]);
    expect([...da.keys()]).toContain('point_cloud/iteration_30000/point_cloud.ply');
    expect([...da.keys()]).toContain('cameras.json');
    expect([...da.keys()]).toContain('prompts.json');
    expect([...da.keys()].filter((f) => f.startsWith('masks/')).length).toBeGreaterThan(4);
    expect(da).toEqual(db);
    expect(dc.get('point_cloud/iteration_30000/point_cloud.ply')).not.toBe(da.get('point_cloud/iteration_30000/point_cloud.ply'));
    expect(a.prompts.length).toBeGreaterThanOrEqual(3);
    // No temporary folder is left beside the output.
    expect((await readdir(work)).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('reads back as a 3DGS training output: scene with object and part ids, cameras, images', async () => {
    const dir = join(work, 'a');
    const scene = await readScene(join(dir, 'point_cloud/iteration_30000/point_cloud.ply'));
    const truth = generateSynthScene(TINY);
    expect(scene.count).toBe(truth.scene.count);
    const objectIds = scene.extras.find((e) => e.name === 'object_id');
    const partIds = scene.extras.find((e) => e.name === 'part_id');
    expect(Array.from(objectIds!.data)).toEqual(Array.from(truth.truth.objectIds));
    expect(Array.from(partIds!.data)).toEqual(Array.from(truth.truth.partIds));
    const cameras = await readCameras(join(dir, 'cameras.json'));
    expect(cameras.map((c) => c.name)).toEqual(['view_000', 'view_001', 'view_002', 'view_003']);
    for (const c of cameras) {
      expect([c.width, c.height]).toEqual([80, 60]);
      expect((await stat(join(dir, 'images', `${c.name}.png`))).size).toBeGreaterThan(500);
    }
    // Several objects, made of parts, some of them touching.
    expect(truth.truth.objects.length).toBeGreaterThanOrEqual(6);
    expect(truth.truth.objects.some((o) => o.touches.length > 0)).toBe(true);
    expect(truth.truth.parts.filter((p) => p.objectId === 1).length).toBeGreaterThanOrEqual(2);
  });

  it('imports as a project', async () => {
    const resolved = await resolveProjectSource(join(work, 'a'));
    expect(resolved.missingImages).toEqual([]);
    expect(resolved.source.count).toBe(generateSynthScene(TINY).scene.count);
    expect(resolved.source.properties).toContain('object_id');
    createProject(join(work, 'project-a'), { source: resolved.source }).close();
    const project = openProject(join(work, 'project-a'));
    try {
      expect(project.views().map((v) => v.name)).toEqual(['view_000', 'view_001', 'view_002', 'view_003']);
    } finally {
      project.close();
    }
  });

  it('has label maps that match the rendered objects', async () => {
    // Independent check through the colour path: paint every object a distinct flat colour (floor in
    // the background colour), render, classify each pixel by its nearest paint, compare with labels.
    const dir = join(work, 'a');
    const scene = await readScene(join(dir, 'point_cloud/iteration_30000/point_cloud.ply'));
    const ids = scene.extras.find((e) => e.name === 'object_id')!.data;
    const paints: [number, number, number][] = [
      SYNTH_BACKGROUND, [1, 0, 0], [0, 0.8, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [0.5, 0, 0], [0, 0.4, 0], [0, 0, 0.45], [0.55, 0.55, 0], [0.55, 0, 0.55], [0, 0.5, 0.5], [0.15, 0.15, 0.15],
    ];
    let maxId = 0;
    for (let i = 0; i < ids.length; i++) maxId = Math.max(maxId, ids[i]!);
    expect(maxId).toBeLessThan(paints.length);
    const painted: GaussianScene = { ...scene, sh0: new Float32Array(scene.count * 3) };
    for (let i = 0; i < scene.count; i++) for (let c = 0; c < 3; c++) painted.sh0[i * 3 + c] = (paints[ids[i]!]![c]! - 0.5) / SH_C0;
    const cameras = await readCameras(join(dir, 'cameras.json'));
    let agree = 0, total = 0, objectPixels = 0, objectAgree = 0;
    for (const cam of cameras) {
      const { labels } = await readLabels(join(dir, 'labels', `${cam.name}.png`));
      const img = renderReference(painted, cam, { background: SYNTH_BACKGROUND });
      for (let p = 0; p < labels.length; p++) {
        let best = 0, bestD = Infinity;
        paints.forEach((c, k) => {
          const d = (img.color[p * 3]! - c[0]) ** 2 + (img.color[p * 3 + 1]! - c[1]) ** 2 + (img.color[p * 3 + 2]! - c[2]) ** 2;
          if (d < bestD) { bestD = d; best = k; }
        });
        total++;
        if (best === labels[p]) agree++;
        if (labels[p] !== 0) {
          objectPixels++;
          if (best === labels[p]) objectAgree++;
        }
      }
    }
    console.log(`label maps vs painted renders: ${(100 * agree / total).toFixed(1)}% of all pixels, ${(100 * objectAgree / objectPixels).toFixed(1)}% of ${objectPixels} object pixels`);
    expect(objectPixels).toBeGreaterThan(500);
    expect(agree / total).toBeGreaterThan(0.97);
    expect(objectAgree / objectPixels).toBeGreaterThan(0.85);
  });

  it('generates every kind with its thin parts present', () => {
    for (const kind of SYNTH_KINDS) {
      const { scene, truth } = generateSynthScene({ seed: 9, gaussians: 6000, kind });
      expect(scene.count).toBe(6000);
      const present = new Set(truth.partIds);
      expect(truth.parts.filter((p) => !present.has(p.id))).toEqual([]);
      expect(scene.scales.every((v) => Number.isFinite(v))).toBe(true);
    }
  });

  it('can be cancelled and then leaves nothing behind', async () => {
    const controller = new AbortController();
    const run = writeSynthFolder(join(work, 'cancelled'), {
      ...TINY,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.stage === 'render' && p.done === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect((await readdir(work)).filter((f) => f.includes('cancelled'))).toEqual([]);
  });

  it('runs from the CLI and refuses a non-empty folder without --force', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t) };
    const dir = join(work, 'cli');
    const args = ['synth', '--out', dir, '--seed', '2', '--gaussians', '3000', '--views', '3', '--size', '64x48', '--json'];
    expect(await main(args, io)).toBe(0);
    const summary = JSON.parse(out.join('')) as { views: number; prompts: number; oracleMasks: number };
    expect(summary.views).toBe(3);
    expect(summary.oracleMasks).toBeGreaterThan(0);
    expect(await main(args, io)).toBe(2);
    expect(err.join('')).toMatch(/not empty.*--force/);
    expect(await main(['synth', '--out', dir, '--kind', 'castle'], io)).toBe(2);
  });
});
