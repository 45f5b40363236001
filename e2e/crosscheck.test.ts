/**
 * Independent cross-check of our colour rasterizer (issue 4): the app's own viewport, which draws
 * through @mkkellogg/gaussian-splats-3d in Chromium, jumps to a training view of the guitar; our GPU
 * rasterizer (Dawn on lavapipe) renders the same camera on the same background; the two must agree.
 * Measured figures and the known sources of the remaining difference are in the floors' comment.
 *
 * The training cameras are made the size of the viewport canvas (square pixels, principal point at
 * the centre), so the viewer's perspective (vertical FOV from fy, aspect from the canvas) is exactly
 * the camera's intrinsics. Both sides use SH degree 0: the app's viewer is configured that way.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineClient } from '../main/host/engine-client.ts';
import { orbitCameras } from '../main/engine/raster/orbit.ts';
import { renderReference } from '../main/engine/raster/reference.ts';
import { encodeRgbPng } from '../main/common/png.ts';
import { toRgb8 } from '../main/engine/raster/images.ts';
import type { Camera } from '../main/scene/camera.ts';
import { writeInriaCameras } from '../main/scene/cameras/index.ts';
import { readScene } from '../main/scene/io.ts';
import type { GaussianScene } from '../main/scene/gaussians.ts';
import { ARTIFACTS, SCENES, sharedScene } from './fixtures.ts';
import type { Image } from './support/pixels.ts';
import { afterFrames, createProjectByPath, openStudio, VIEWPORT_BACKGROUND, waitForSplatCount, type StudioSession } from './support/studio.ts';

const GUITAR_SPLATS = 90854;
/** Views on the orbit ring; every other one is compared (each costs seconds of screenshots and renders under load). */
const ORBIT_VIEWS = 6;
const COMPARED_VIEWS = [0, 2, 4];
/**
 * Floors with margin under the measured figures (840x693: 44.7 / 51.6 / 54.9 dB over the image,
 * 35.0 / 41.2 / 45.2 dB over covered pixels, identical for GPU and CPU reference); issue 4 asks for
 * at least 28 dB. About 90% of the image is background (an empty render scores up to 29 dB over the
 * image), so the covered-pixel figure is the demanding one. Known differences, view 0: the viewer
 * clamps each splat's colour to [0, 1] and stores it in 8 bits (emulating that on our side gains
 * 0.85 dB), blends in an 8-bit framebuffer, cuts splats at sqrt(8) sigma with no 0.99 alpha cap or
 * early stop, and sorts on approximate depths; 3.8% of covered pixels (knobs, edges) carry 67% of
 * the squared error. Geometry agrees to well under a pixel: a 1/4 px shift costs 3 to 6 dB.
 */
const PSNR_FLOOR_DB = 40;
const COVERED_PSNR_FLOOR_DB = 32;

/** PSNR (dB, peak 1) of 8-bit RGB(A) `shot` against float RGB `ours`, over pixels where `mask` is set (all if absent). */
export function psnr(ours: Float32Array, shot: Image, mask?: Uint8Array): number {
  let se = 0;
  let n = 0;
  for (let p = 0; p < shot.width * shot.height; p++) {
    if (mask && !mask[p]) continue;
    for (let c = 0; c < 3; c++) {
      const a = Math.min(1, Math.max(0, ours[p * 3 + c]!));
      const b = shot.data[p * shot.channels + c]! / 255;
      se += (a - b) ** 2;
    }
    n += 3;
  }
  return n === 0 ? Infinity : 10 * Math.log10(1 / (se / n));
}

/**
 * Pixels covered by either image: our alpha above 1/255, or the screenshot visibly away from the
 * background (the viewer's alpha is not readable from a composited screenshot).
 */
export function coverageMask(alpha: Float32Array, shot: Image, background: readonly [number, number, number]): Uint8Array {
  const mask = new Uint8Array(alpha.length);
  for (let p = 0; p < alpha.length; p++) {
    const i = p * shot.channels;
    const away = Math.abs(shot.data[i]! - background[0]) + Math.abs(shot.data[i + 1]! - background[1]) + Math.abs(shot.data[i + 2]! - background[2]);
    mask[p] = alpha[p]! > 1 / 255 || away > 3 ? 1 : 0;
  }
  return mask;
}

/** |ours - shot| per channel, amplified 4x so small differences are visible, as 8-bit RGB. */
export function differenceImage(ours: Float32Array, shot: Image): Uint8Array {
  const out = new Uint8Array(shot.width * shot.height * 3);
  for (let p = 0; p < shot.width * shot.height; p++) {
    for (let c = 0; c < 3; c++) {
      const a = Math.min(1, Math.max(0, ours[p * 3 + c]!)) * 255;
      const d = Math.abs(a - shot.data[p * shot.channels + c]!);
      out[p * 3 + c] = Math.min(255, Math.round(d * 4));
    }
  }
  return out;
}

const E2E_TIMEOUT_MS = 240_000;

describe('independent cross-check: our colour render vs @mkkellogg/gaussian-splats-3d in the app viewport', () => {
  let studio: StudioSession;
  let work: string;
  let capture: string;
  let scene: GaussianScene;
  let cameras: Camera[];
  let engine: EngineClient;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'saga-e2e-crosscheck-'));
    capture = join(work, 'capture');
    mkdirSync(capture);
    const guitar = sharedScene(SCENES.guitar);
    symlinkSync(guitar, join(capture, SCENES.guitar));
    scene = await readScene(guitar);
    // Our GPU rasterizer (Dawn on lavapipe, in its worker) and the browser start side by side.
    [engine, studio] = await Promise.all([EngineClient.start(), openStudio()]);
    await engine.loadScene(scene);
    // The canvas is sized by the layout: make the cameras that size so intrinsics match 1:1.
    const [width, height] = await studio.page.getByTestId('viewport').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    cameras = orbitCameras(scene, ORBIT_VIEWS, { width: width!, height: height! });
    await writeInriaCameras(cameras, join(capture, 'cameras.json'));
  });

  afterAll(async () => {
    await engine?.close();
    await studio?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('agrees with the viewer on the guitar from several training views', async () => {
    const { page } = studio;
    const t0 = performance.now();
    await createProjectByPath(page, join(work, 'project'), capture);
    await waitForSplatCount(page, GUITAR_SPLATS);
    const loadedMs = performance.now() - t0;
    const items = page.getByTestId('view-row');
    expect(await items.count()).toBe(ORBIT_VIEWS);
    const canvas = page.getByTestId('viewport');
    // The layout puts the canvas at a fractional CSS offset and height (toolbar 39.19 px), so the
    // compositor would resample its pixels. Pin it, at its own pixel size, to the integer top-right
    // corner of the page (the views list and status bar stay uncovered); its backing size is set
    // from the container, which does not move, so the viewer's camera is unchanged.
    const [cw, ch] = [cameras[0]!.width, cameras[0]!.height];
    const bgCss = `rgb(${VIEWPORT_BACKGROUND.join(',')})`;
    await page.addStyleTag({
      content: `[data-testid="viewport"] { position: fixed !important; inset: auto !important; right: 0 !important; top: 0 !important; width: ${cw}px !important; height: ${ch}px !important; background: ${bgCss} !important; z-index: 10; }`,
    });
    const box = await canvas.evaluate((c: HTMLCanvasElement) => {
      const r = c.getBoundingClientRect();
      return [r.x, r.y, r.width, r.height, c.width, c.height];
    });
    expect(box.every(Number.isInteger)).toBe(true);
    // Hide the training-camera frusta: only splats should be in the picture.
    await canvas.hover();
    await afterFrames(page, () => page.keyboard.press('KeyC'));
    mkdirSync(ARTIFACTS, { recursive: true });

    const bg = VIEWPORT_BACKGROUND.map((v) => v / 255) as [number, number, number];
    const toggle = page.getByTestId('render-toggle');
    const results: string[] = [];
    const figures: { whole: number; covered: number; share: number; emptyWhole: number; emptyCovered: number; referenceWhole: number | undefined; shifted: number }[] = [];
    for (const k of COMPARED_VIEWS) {
      const camera = cameras[k]!;
      const tView = performance.now();
      // One frame at least (the project opens at view 0, so that jump changes nothing to re-sort);
      // the loop below redraws until the picture is stable.
      await afterFrames(page, () => items.nth(k).click(), 1);
      // The library sorts splats in a worker; redraw until two consecutive frames agree, so the
      // screenshot shows the sort for this view and not the previous one.
      let shotBytes: Buffer = await canvas.screenshot();
      let redraws = 0;
      let stable = false;
      for (let attempt = 0; attempt < 4; attempt++) {
        await toggle.click();
        await afterFrames(page, () => toggle.click());
        const again = await canvas.screenshot();
        redraws++;
        stable = again.equals(shotBytes);
        shotBytes = again;
        if (stable) break;
      }
      expect(stable).toBe(true);
      const png = decode(shotBytes);
      expect([png.width, png.height, png.depth]).toEqual([camera.width, camera.height, 8]);
      const shot: Image = { width: png.width, height: png.height, data: png.data as Uint8Array, channels: png.channels };

      const shotMs = performance.now() - tView;
      // Our colour render is the GPU rasterizer's. The CPU reference it is held to (1e-4 elsewhere)
      // is scored on the first view too (seconds a view), so a GPU regression and a shared
      // convention error are told apart.
      const ours = await engine.render(camera, { shDegree: 0, background: bg });
      let referenceWhole: number | undefined;
      if (k === COMPARED_VIEWS[0]) referenceWhole = psnr(renderReference(scene, camera, { shDegree: 0, background: bg }).color, shot);
      // Control: the same camera with the principal point moved a quarter pixel right must score
      // lower, so the agreement is pixel-exact alignment and not just a similar picture.
      const shifted = psnr((await engine.render({ ...camera, cx: camera.cx + 0.25 }, { shDegree: 0, background: bg })).color, shot);
      const whole = psnr(ours.color, shot);
      const mask = coverageMask(ours.alpha, shot, VIEWPORT_BACKGROUND);
      const covered = psnr(ours.color, shot, mask);
      const share = mask.reduce((a, m) => a + m, 0) / mask.length;
      // Control: the score of an empty render (background only) against the same screenshot, so a
      // floor is known to reject a render that misses the subject.
      const empty = new Float32Array(ours.color.length).map((_, i) => bg[i % 3]!);
      const emptyWhole = psnr(empty, shot);
      const emptyCovered = psnr(empty, shot, mask);
      results.push(
        `view ${k} (${camera.width}x${camera.height}): PSNR ${whole.toFixed(2)} dB over the image, ${covered.toFixed(2)} dB over the ${(share * 100).toFixed(1)}% covered pixels; background-only control ${emptyWhole.toFixed(2)} / ${emptyCovered.toFixed(2)} dB;${referenceWhole === undefined ? '' : ` CPU reference ${referenceWhole.toFixed(2)} dB;`} shifted 1/4 px ${shifted.toFixed(2)} dB (${redraws} redraws to a stable frame; jump+screenshots ${(shotMs / 1000).toFixed(1)} s, all ${((performance.now() - tView) / 1000).toFixed(1)} s)`,
      );
      writeFileSync(join(ARTIFACTS, `crosscheck-view${k}-splats3d.png`), shotBytes);
      writeFileSync(join(ARTIFACTS, `crosscheck-view${k}-ours.png`), encodeRgbPng(toRgb8(ours.color), camera.width, camera.height));
      writeFileSync(join(ARTIFACTS, `crosscheck-view${k}-diff4x.png`), encodeRgbPng(differenceImage(ours.color, shot), camera.width, camera.height));
      figures.push({ whole, covered, share, emptyWhole, emptyCovered, referenceWhole, shifted });
    }
    console.log(`cross-check, guitar vs @mkkellogg/gaussian-splats-3d (project import to all splats drawn ${(loadedMs / 1000).toFixed(1)} s):\n  ${results.join('\n  ')}`);
    for (const { whole, covered, share, emptyWhole, emptyCovered, referenceWhole, shifted } of figures) {
      // The subject must be in view, or agreement on a blank background would prove nothing.
      expect(share).toBeGreaterThan(0.05);
      expect(emptyWhole).toBeLessThan(PSNR_FLOOR_DB);
      expect(emptyCovered).toBeLessThan(COVERED_PSNR_FLOOR_DB);
      expect(whole).toBeGreaterThanOrEqual(PSNR_FLOOR_DB);
      if (referenceWhole !== undefined) expect(referenceWhole).toBeGreaterThanOrEqual(PSNR_FLOOR_DB);
      expect(shifted).toBeLessThan(whole - 1);
      expect(covered).toBeGreaterThanOrEqual(COVERED_PSNR_FLOOR_DB);
    }
    expect(studio.pageErrors).toEqual([]);
  }, E2E_TIMEOUT_MS);
});
