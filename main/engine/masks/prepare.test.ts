import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, SCENES, sharedScene } from '../../../e2e/fixtures.ts';
import { createProject } from '../../project/store.ts';
import { maskContactSheet } from './contact-sheet.ts';
import { decodeImage, encodeRgbPng } from './image.ts';
import { prepareViewsInWorker } from './prepare-worker.ts';
import { imageAtGrid, prepareViews, type PrepareProgress, type PrepareView } from './prepare.ts';
import { prepareProject } from '../../host/project-inputs.ts';
import { listPreparedViews, readManifest, readPreparedFeatures, readPreparedMasks, unpackMask, viewDir, viewKey } from './storage.ts';
import { SAM_DEFAULT_CONVENTION, SamPredictor } from './sam.ts';
import { tinySamDecoder, tinySamEncoder, TINY_IOU } from './testing/tiny-sam.ts';
import { projectSourceFor, renderViewImages } from './testing/views.ts';

const W = 200;
const H = 150;
let root: string;
let imagesDir: string;
let views: PrepareView[];
let cameras: Awaited<ReturnType<typeof renderViewImages>>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-prepare-'));
  imagesDir = join(root, 'images');
  cameras = await renderViewImages(sharedScene(SCENES.guitar), imagesDir, 6, W, H);
  views = cameras.map((c, i) => ({ id: i + 1, name: c.name, imagePath: c.imagePath }));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function loadView(cacheDir: string, v: PrepareView) {
  const dir = viewDir(cacheDir, viewKey(v.id, v.name));
  const m = readManifest(dir)!;
  const masks = readPreparedMasks(dir, m).map((bits) => unpackMask(bits, m.maskWidth * m.maskHeight));
  return { dir, m, masks };
}

describe('prepare with the embedded default on rendered guitar views', () => {
  it('yields nested masks at several granularities per view, covering the view, and classical features', async () => {
    const cacheDir = join(root, 'cache-auto');
    const events: PrepareProgress[] = [];
    const result = await prepareViews({ views, cacheDir }, { masks: { kind: 'auto' }, onProgress: (p) => events.push(p) });
    expect(result.source).toBe('auto');
    expect(result.recommendation).toMatch(/SAM model/);
    expect([result.done, result.skipped, result.failed]).toEqual([6, 0, 0]);
    expect(events.filter((e) => e.event === 'view-done').map((e) => e.done)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.at(-1)!.etaSeconds).toBe(0);

    const rows = [];
    for (const v of views) {
      const { dir, m, masks } = loadView(cacheDir, v);
      expect([m.maskWidth, m.maskHeight]).toEqual([W, H]); // 200x150 is within the 200*200 budget
      expect(m.source).toBe('auto');
      expect(m.features!.frame).toEqual({ size: 1024, width: 1024, height: 768 });
      const levels = [...new Set(m.masks.map((x) => x.level))];
      expect(levels.length).toBeGreaterThanOrEqual(3);
      const n = W * H;
      // Nesting: a mask and any mask of a coarser level are either disjoint or the finer lies inside.
      for (let i = 0; i < masks.length; i++) {
        for (let j = 0; j < masks.length; j++) {
          if (m.masks[j]!.level <= m.masks[i]!.level) continue;
          let inter = 0;
          for (let p = 0; p < n; p++) inter += masks[i]![p]! & masks[j]![p]!;
          expect(inter === 0 || inter === m.masks[i]!.area, `view ${v.name}: mask ${i} (level ${m.masks[i]!.level}) vs ${j}`).toBe(true);
        }
      }
      // Masks at one level are disjoint, and areas match the stored bits.
      const covered = new Uint8Array(n);
      masks.forEach((mask, i) => {
        let area = 0;
        for (let p = 0; p < n; p++) {
          area += mask[p]!;
          covered[p] ||= mask[p]!;
        }
        expect(area).toBe(m.masks[i]!.area);
      });
      const coverage = covered.reduce((s, x) => s + x, 0) / n;
      expect(coverage).toBeGreaterThan(0.97);
      // Features: 256 x 64 x 64 float16, non-zero inside the image's 64 x 48 cells, zero in the padding.
      const f = readPreparedFeatures(dir, m)!;
      expect(f.length).toBe(256 * 64 * 64);
      expect(Math.abs(f[10 * 64 + 10]!)).toBeGreaterThan(0);
      expect(f[60 * 64 + 10]).toBe(0);
      const img = decodeImage(new Uint8Array(readFileSync(v.imagePath!)), v.imagePath!);
      rows.push({ image: { width: W, height: H, data: Uint8Array.from(imageAtGrid(img, W, H), (x) => Math.round(x)) }, masks: m.masks.map((info, i) => ({ level: info.level, mask: masks[i]! })) });
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'prepare-auto-guitar-masks.png'), encodeRgbPng(maskContactSheet(rows)));
  });

  it('continues after an interruption without recomputing finished views', async () => {
    const cacheDir = join(root, 'cache-resume');
    const ac = new AbortController();
    let finished = 0;
    const first = prepareViews({ views, cacheDir }, {
      masks: { kind: 'auto' },
      signal: ac.signal,
      onProgress: (p) => {
        if (p.event === 'view-done' && ++finished === 2) ac.abort();
      },
    });
    await expect(first).rejects.toMatchObject({ code: 'CANCELLED' });
    const doneBefore = views.map((v) => readManifest(viewDir(cacheDir, viewKey(v.id, v.name))));
    expect(doneBefore.map((m) => m !== undefined)).toEqual([true, true, false, false, false, false]);
    const mtimes = views.slice(0, 2).map((v) => statSync(join(viewDir(cacheDir, viewKey(v.id, v.name)), 'manifest.json')).mtimeMs);

    const second = await prepareViews({ views, cacheDir }, { masks: { kind: 'auto' } });
    expect(second.views.map((r) => r.status)).toEqual(['skipped', 'skipped', 'done', 'done', 'done', 'done']);
    expect(views.slice(0, 2).map((v) => statSync(join(viewDir(cacheDir, viewKey(v.id, v.name)), 'manifest.json')).mtimeMs)).toEqual(mtimes);
    const third = await prepareViews({ views, cacheDir }, { masks: { kind: 'auto' } });
    expect(third.skipped).toBe(6);
    expect(listPreparedViews(cacheDir).map((v) => v.manifest.view)).toEqual(views.map((v) => v.name));
  });

  it('reports a corrupt image as a per-view error and finishes the other views', async () => {
    const dir = join(root, 'corrupt');
    cpSync(imagesDir, dir, { recursive: true });
    const broken = join(dir, `${views[2]!.name}.png`);
    const bytes = readFileSync(broken);
    writeFileSync(broken, bytes.subarray(0, 200)); // a truncated PNG
    const vs = views.map((v) => ({ ...v, imagePath: join(dir, `${v.name}.png`) }));
    vs.push({ id: 99, name: 'missing', imagePath: join(dir, 'missing.png') });
    const result = await prepareViews({ views: vs, cacheDir: join(root, 'cache-corrupt') }, { masks: { kind: 'auto' } });
    expect(result.failed).toBe(2);
    expect(result.done).toBe(5);
    expect(result.views[2]!.status).toBe('failed');
    expect(result.views[2]!.error!.code).toBe('BAD_IMAGE');
    expect(result.views[2]!.error!.message).toContain(broken);
    expect(result.views[6]!.error!.code).toBe('FILE_NOT_FOUND');
  });

  it('imports masks from a folder of <image-stem>/<k>.png', async () => {
    const folder = join(root, 'imported');
    const v = views[0]!;
    mkdirSync(join(folder, v.name), { recursive: true });
    // Two masks at full size: left half, and a centred box.
    const left = new Uint8Array(W * H * 3);
    const box = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (x < W / 2) left.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
        if (x >= 50 && x < 150 && y >= 50 && y < 100) box[(y * W + x) * 3 + 1] = 7;
      }
    }
    writeFileSync(join(folder, v.name, '0.png'), encodeRgbPng({ width: W, height: H, data: left }));
    writeFileSync(join(folder, v.name, '1.png'), encodeRgbPng({ width: W, height: H, data: box }));
    const result = await prepareViews({ views: views.slice(0, 2), cacheDir: join(root, 'cache-imported') }, { masks: { kind: 'imported', folder } });
    expect(result.source).toBe('imported');
    expect(result.views[0]!.status).toBe('done');
    expect(result.views[1]!.error!.code).toBe('MASKS_MISSING');
    const { m } = loadView(join(root, 'cache-imported'), v);
    expect(m.masks.map((x) => [x.level, x.area])).toEqual([
      [0, (W * H) / 2],
      [1, 100 * 50],
    ]);
    // Imported masks come with the built-in image features, which training's guidance loss needs.
    expect(m.features?.kind).toBe('classical');
    expect(m.features?.channels).toBe(256);
  });

  it('prepares a real project (SQLite store) through prepareProject', async () => {
    const scenePath = sharedScene(SCENES.guitar);
    const dir = join(root, 'project');
    const project = createProject(dir, { source: await projectSourceFor(scenePath, cameras.slice(0, 2), imagesDir) });
    project.close();
    const result = await prepareProject(dir, { masks: { kind: 'auto' } });
    expect(result.done).toBe(2);
    expect(result.views.every((r) => (r.levels ?? 0) >= 3)).toBe(true);
  });

  it('prepares views with a SAM model: embeddings cached as float16, automatic masks with their scores', async () => {
    const modelDir = join(root, 'tiny-model');
    mkdirSync(modelDir, { recursive: true });
    writeFileSync(join(modelDir, 'tiny.encoder.onnx'), tinySamEncoder());
    writeFileSync(join(modelDir, 'tiny.decoder.onnx'), tinySamDecoder());
    const model = { id: 'tiny', encoderPath: join(modelDir, 'tiny.encoder.onnx'), decoderPath: join(modelDir, 'tiny.decoder.onnx'), convention: SAM_DEFAULT_CONVENTION };
    const cacheDir = join(root, 'cache-sam');
    const result = await prepareViews({ views: views.slice(0, 2), cacheDir }, { masks: { kind: 'sam', model, amg: { pointsPerSide: 6 }, threads: 1 } });
    expect(result.source).toBe('sam');
    expect(result.sourceDetail).toBe('tiny');
    expect(result.recommendation).toBeUndefined();
    expect(result.done).toBe(2);
    const { dir, m, masks } = loadView(cacheDir, views[0]!);
    expect(m.features!.kind).toBe('sam-embedding');
    // 36 grid points, one stable high-IoU disc each; NMS keeps those whose boxes overlap <= 0.7.
    expect(masks.length).toBeGreaterThan(10);
    expect(m.masks.every((x) => Math.abs(x.predictedIou! - TINY_IOU[1]) < 1e-6 && x.stability! >= 0.95)).toBe(true);
    // The cached features are the encoder's embedding, to float16 precision.
    const predictor = await SamPredictor.load(model, { threads: 1 });
    const img = decodeImage(new Uint8Array(readFileSync(views[0]!.imagePath!)), views[0]!.imagePath!);
    const emb = await predictor.embed(img);
    await predictor.close();
    const cached = readPreparedFeatures(dir, m)!;
    let maxErr = 0;
    for (let i = 0; i < emb.data.length; i++) maxErr = Math.max(maxErr, Math.abs(cached[i]! - emb.data[i]!) / Math.max(1, Math.abs(emb.data[i]!)));
    expect(maxErr).toBeLessThan(1e-3);
  });

  it('runs in a worker thread with the same results, progress and cancellation', async () => {
    const cacheDir = join(root, 'cache-worker');
    const events: string[] = [];
    const ac = new AbortController();
    const first = prepareViewsInWorker({ views: views.slice(0, 3), cacheDir }, {
      masks: { kind: 'auto' },
      signal: ac.signal,
      onProgress: (p) => {
        events.push(p.event);
        if (p.event === 'view-done') ac.abort();
      },
    });
    await expect(first).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(events).toEqual(['start', 'view-done']);
    const result = await prepareViewsInWorker({ views: views.slice(0, 3), cacheDir }, { masks: { kind: 'auto' } });
    expect(result.views.map((r) => r.status)).toEqual(['skipped', 'done', 'done']);
    const direct = await prepareViews({ views: views.slice(0, 3), cacheDir: join(root, 'cache-auto') }, { masks: { kind: 'auto' } });
    expect(result.views.map((r) => r.masks)).toEqual(direct.views.map((r) => r.masks));
  });
});
