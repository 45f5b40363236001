/**
 * The viewport's first look, as a new user meets it in browser mode: a project opens at a training
 * view, a frustum is picked by its body and its row comes into sight, scenes stand upright (up from
 * the cameras, the 3DGS convention without them, not left over from the last project), the flip
 * (U, up-flip) is kept by the project, and a faint haze around a scene does not decide the framing.
 * Real host, headless Chromium, the shared guitar and a synthetic desk with 24 z-up cameras.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decode } from 'fast-png';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRandom } from '../main/engine/synth/random.ts';
import { generateSynthScene } from '../main/engine/synth/generate.ts';
import { synthCameras } from '../main/engine/synth/views.ts';
import { PROJECT_DB } from '../main/project/store.ts';
import { cameraCenter, fieldOfView, lookAtCamera, type Camera } from '../main/scene/camera.ts';
import { writeInriaCameras } from '../main/scene/cameras/index.ts';
import { createScene, logit, sigmoid, type GaussianScene } from '../main/scene/gaussians.ts';
import { readScene, writeScene } from '../main/scene/io.ts';
import { boundsRadius, robustBounds } from '../renderer/src/viewport/camera-math.ts';
import { ARTIFACTS, SCENES, sharedScene } from './fixtures.ts';
import { foreground, shareDifferentFrom, standingPose, type Image } from './support/pixels.ts';
import { afterFrames, createProjectByPath, openSceneByPath, openStudio, VIEWPORT_BACKGROUND, waitForSplatCount, type StudioSession } from './support/studio.ts';

const GUITAR_SPLATS = 90854;
const DESK_VIEWS = 24;
const DESK_GAUSSIANS = 20000;
/** Generous: under `npm test` these share two cores with every other suite. */
const E2E_TIMEOUT_MS = 240_000;

/** A still screenshot of the viewport (the render loop paused while it is taken). */
async function viewportShot(page: Page, name: string): Promise<Image> {
  await page.getByTestId('render-toggle').click();
  const png = await page.getByTestId('viewport').screenshot();
  await page.getByTestId('render-toggle').click();
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, `e2e-first-look-${name}.png`), png);
  const image = decode(png);
  return { width: image.width, height: image.height, data: image.data as Uint8Array, channels: image.channels };
}

/** How the guitar stands in a screenshot (its bright wood only: faint haze and the dark stand do not count). */
function guitarPose(image: Image): ReturnType<typeof standingPose> {
  return standingPose(foreground(image, VIEWPORT_BACKGROUND, 80));
}

/** Whether a row of the left panel is inside the panel's visible part (the panel scrolls). */
function rowInSight(row: Locator): Promise<boolean> {
  return row.evaluate((el) => {
    const panel = el.closest('.panel');
    if (!panel) return false;
    const r = el.getBoundingClientRect();
    const p = panel.getBoundingClientRect();
    return r.top >= p.top - 1 && r.bottom <= p.bottom + 1;
  });
}

/** Pixel of world point X seen through `view`'s pose on a canvas of w x h (the viewer keeps the view's vertical FOV). */
function projectThrough(view: Camera, X: readonly number[], w: number, h: number): { x: number; y: number; depth: number } {
  const R = view.rotation;
  const t = view.translation;
  const c = [0, 1, 2].map((r) => R[r * 3]! * X[0]! + R[r * 3 + 1]! * X[1]! + R[r * 3 + 2]! * X[2]! + t[r]!);
  const f = h / 2 / Math.tan(fieldOfView(view).fovY / 2);
  return { x: w / 2 + (f * c[0]!) / c[2]!, y: h / 2 + (f * c[1]!) / c[2]!, depth: c[2]! };
}

/** The guitar inside a faint shell: 40% of the rows, each at 2% opacity, 30 units out. */
function guitarInHaze(guitar: GaussianScene): GaussianScene {
  const haze = Math.round(guitar.count * 0.67);
  const out = createScene(guitar.count + haze, 0);
  out.positions.set(guitar.positions);
  out.scales.set(guitar.scales);
  out.rotations.set(guitar.rotations);
  out.opacities.set(guitar.opacities);
  out.sh0.set(guitar.sh0);
  const b = robustBounds(guitar.positions);
  const centre = [0, 1, 2].map((a) => (b.min[a]! + b.max[a]!) / 2);
  const random = createRandom(11);
  for (let i = guitar.count; i < out.count; i++) {
    const z = random.uniform(-1, 1);
    const phi = random.uniform(0, 2 * Math.PI);
    const r = Math.sqrt(1 - z * z);
    out.positions.set([centre[0]! + 30 * r * Math.cos(phi), centre[1]! + 30 * z, centre[2]! + 30 * r * Math.sin(phi)], i * 3);
    out.scales.set([Math.log(0.05), Math.log(0.05), Math.log(0.05)], i * 3);
    out.rotations.set([1, 0, 0, 0], i * 4);
    out.opacities[i] = logit(0.02);
    out.sh0.set([0.5, 0.5, 0.5], i * 3);
  }
  return out;
}

describe('the viewport first look', () => {
  let studio: StudioSession;
  let work: string;
  let desk: string;
  let deskCameras: Camera[];
  let deskFrustumDepth: number;
  let guitarProject: string;
  const guitar = sharedScene(SCENES.guitar);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'saga-e2e-first-look-'));
    // A synthetic desk (z up, like most non-COLMAP captures) with 24 cameras on a ring, no images.
    desk = join(work, 'desk');
    mkdirSync(desk);
    const synth = generateSynthScene({ seed: 3, gaussians: DESK_GAUSSIANS, kind: 'tabletop' });
    deskCameras = synthCameras(synth.truth, { views: DESK_VIEWS, width: 320, height: 240 }, createRandom(3).fork(0xca3e));
    // The last view (its row below the fold) stands a third of the way from view 0 to the desk and
    // off to the side: from view 0 its frustum is large on screen, as frusta are up close.
    const eye = cameraCenter(deskCameras[0]!);
    const towards = [0, 1, 2].map((a) => synth.truth.focus[a]! - eye[a]!);
    const right = deskCameras[0]!.rotation.slice(0, 3);
    const near: [number, number, number] = [0, 1, 2].map((a) => eye[a]! + 0.35 * towards[a]! + 0.12 * Math.hypot(...towards) * right[a]!) as [number, number, number];
    deskCameras[DESK_VIEWS - 1] = lookAtCamera(deskCameras[DESK_VIEWS - 1]!.name, near, synth.truth.focus, [0, 0, 1], 320, 240, (55 * Math.PI) / 180);
    await writeScene(synth.scene, join(desk, 'desk.ply'));
    await writeInriaCameras(deskCameras, join(desk, 'cameras.json'));
    // The viewport draws frusta 8% of the robust scene radius deep (splats3d-viewport.ts).
    const opacities = Float32Array.from(synth.scene.opacities, sigmoid);
    deskFrustumDepth = 0.08 * boundsRadius(robustBounds(synth.scene.positions, opacities));
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('opens a project at its first view; a click on a frustum body jumps there and brings its row into sight', async () => {
    const { page } = studio;
    await createProjectByPath(page, join(work, 'desk-project'), desk);
    await waitForSplatCount(page, DESK_GAUSSIANS);
    const rows = page.getByTestId('view-row');
    expect(await rows.count()).toBe(DESK_VIEWS);
    expect(await rows.first().getAttribute('aria-current')).toBe('true');
    await viewportShot(page, 'desk-at-view-0');

    // From view 0's pose, click the middle of the last view's frustum (half its depth out along
    // its axis), well away from its apex: a pick that only looked near camera centres would miss.
    const canvas = page.getByTestId('viewport');
    const [w, h] = await canvas.evaluate((c: HTMLCanvasElement) => [c.clientWidth, c.clientHeight]);
    const k = DESK_VIEWS - 1;
    const c = cameraCenter(deskCameras[k]!);
    const axis = deskCameras[k]!.rotation.slice(6, 9);
    const apex = projectThrough(deskCameras[0]!, c, w!, h!);
    const picked = projectThrough(deskCameras[0]!, [0, 1, 2].map((a) => c[a]! + 0.5 * deskFrustumDepth * axis[a]!), w!, h!);
    expect(picked.depth).toBeGreaterThan(0);
    expect(picked.x > 20 && picked.x < w! - 20 && picked.y > 20 && picked.y < h! - 20, `(${picked.x}, ${picked.y}) off the ${w}x${h} canvas`).toBe(true);
    expect(Math.hypot(picked.x - apex.x, picked.y - apex.y)).toBeGreaterThan(40);
    expect(await rowInSight(rows.nth(k))).toBe(false);
    await afterFrames(page, () => canvas.click({ position: { x: picked.x, y: picked.y } }));
    await expect.poll(() => rows.nth(k).getAttribute('aria-current')).toBe('true');
    expect(await rows.first().getAttribute('aria-current')).toBeNull();
    await expect.poll(() => rowInSight(rows.nth(k))).toBe(true);
    await viewportShot(page, 'desk-picked-view');
    expect(studio.pageErrors).toEqual([]);
  }, E2E_TIMEOUT_MS);

  it('shows a scene without cameras upright after a project with other cameras, and U turns it over', async () => {
    const { page } = studio;
    await openSceneByPath(page, guitar);
    // Opening a bare scene closes the project: the app asks first.
    await page.getByTestId('choice-dialog').waitFor();
    expect(await page.getByTestId('choice-message').textContent()).toMatch(/closes the project/);
    await page.getByTestId('choice-open').click();
    await waitForSplatCount(page, GUITAR_SPLATS);
    await page.getByTestId('no-project').waitFor();
    expect(guitarPose(await viewportShot(page, 'guitar-after-desk'))).toBe('upright');
    expect(await page.getByTestId('up-flip').getAttribute('aria-pressed')).toBe('false');

    await page.getByTestId('viewport').hover();
    await afterFrames(page, () => page.keyboard.press('KeyU'));
    expect(await page.getByTestId('up-flip').getAttribute('aria-pressed')).toBe('true');
    expect(guitarPose(await viewportShot(page, 'guitar-flipped'))).toBe('upside-down');
    await afterFrames(page, () => page.getByTestId('up-flip').click());
    expect(guitarPose(await viewportShot(page, 'guitar-flipped-back'))).toBe('upright');
  }, E2E_TIMEOUT_MS);

  it('keeps the flip in the project: reopened from Recent, the scene is still turned over', async () => {
    const { page } = studio;
    guitarProject = join(work, 'guitar-project');
    // New Project from… (Ctrl+Alt+N in the browser) offers the open scene as the source.
    await page.getByTestId('viewport').hover();
    await page.keyboard.press('Control+Alt+KeyN');
    await page.getByTestId('path-dialog').waitFor();
    expect(await page.getByTestId('source-input').inputValue()).toBe(guitar);
    await page.keyboard.type(guitarProject);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('project-name').textContent(), { timeout: 60_000 }).toBe('guitar-project');
    await waitForSplatCount(page, GUITAR_SPLATS);
    expect(await page.getByTestId('up-flip').getAttribute('aria-pressed')).toBe('false');
    await afterFrames(page, () => page.getByTestId('up-flip').click());
    await expect.poll(() => page.getByTestId('up-flip').getAttribute('aria-pressed')).toBe('true');

    await page.getByTestId('close-project').click();
    await page.getByTestId('no-project').waitFor();
    await page.getByTestId('recent-list').getByRole('button', { name: 'guitar-project' }).click();
    await waitForSplatCount(page, GUITAR_SPLATS);
    expect(await page.getByTestId('up-flip').getAttribute('aria-pressed')).toBe('true');
    expect(guitarPose(await viewportShot(page, 'guitar-project-reopened'))).toBe('upside-down');
    // Kept in the project's own database, so it travels with the folder.
    const db = new Database(join(guitarProject, PROJECT_DB), { readonly: true });
    try {
      expect(db.prepare("SELECT value FROM meta WHERE key = 'settings.up_flipped'").get()).toEqual({ value: '1' });
    } finally {
      db.close();
    }
    expect(studio.pageErrors).toEqual([]);
  }, E2E_TIMEOUT_MS);

  it('frames the guitar, not the faint haze around it, on open and on F', async () => {
    const { page } = studio;
    const hazy = join(work, 'guitar-in-haze.ply');
    const scene = guitarInHaze(await readScene(guitar));
    await writeScene(scene, hazy);
    await openSceneByPath(page, hazy);
    await page.getByTestId('choice-open').click();
    await waitForSplatCount(page, scene.count);
    // The guitar fills about a quarter of the centre box when framed alone (app.test.ts).
    const opened = await viewportShot(page, 'haze-open');
    expect(shareDifferentFrom(opened, VIEWPORT_BACKGROUND, 0.4)).toBeGreaterThan(0.12);
    expect(guitarPose(opened)).toBe('upright');
    // Zoomed far out, F brings the guitar back to the same size.
    await page.getByTestId('viewport').hover();
    await afterFrames(page, async () => {
      for (let i = 0; i < 5; i++) await page.mouse.wheel(0, 600);
    });
    expect(shareDifferentFrom(await viewportShot(page, 'haze-zoomed-out'), VIEWPORT_BACKGROUND, 0.4)).toBeLessThan(0.05);
    await afterFrames(page, () => page.keyboard.press('KeyF'));
    expect(shareDifferentFrom(await viewportShot(page, 'haze-framed'), VIEWPORT_BACKGROUND, 0.4)).toBeGreaterThan(0.12);
    expect(studio.pageErrors).toEqual([]);
  }, E2E_TIMEOUT_MS);
});
