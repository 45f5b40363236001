/**
 * Training views in the editor: a capture folder (scene + cameras.json) becomes a project whose
 * cameras are listed and drawn as frusta; picking one moves the viewport to it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookAtCamera } from '../main/scene/camera.ts';
import { writeInriaCameras } from '../main/scene/cameras/index.ts';
import { readScene } from '../main/scene/io.ts';
import { robustBounds } from '../renderer/src/viewport/camera-math.ts';
import { ARTIFACTS, SCENES, sharedScene } from './fixtures.ts';
import { afterFrames, createProjectByPath, openStudio, waitForSplatCount, type StudioSession } from './support/studio.ts';

const VIEWS = 6;

/** Mean absolute difference per channel between two same-sized screenshots. */
function meanDifference(a: Buffer, b: Buffer): number {
  const x = decode(a);
  const y = decode(b);
  expect([x.width, x.height]).toEqual([y.width, y.height]);
  let sum = 0;
  for (let i = 0; i < x.data.length; i++) sum += Math.abs(Number(x.data[i]) - Number(y.data[i]));
  return sum / x.data.length;
}

/** Generous: under `npm test` these share two cores with every other suite. */
const E2E_TIMEOUT_MS = 240_000;

describe('training views', () => {
  let studio: StudioSession;
  let work: string;
  let capture: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'saga-e2e-views-'));
    capture = join(work, 'capture');
    mkdirSync(capture);
    const guitar = sharedScene(SCENES.guitar);
    copyFileSync(guitar, join(capture, SCENES.guitar));
    // Cameras on a ring around the guitar (its up is -y), all looking at its middle.
    const scene = await readScene(guitar);
    const b = robustBounds(scene.positions);
    const centre: [number, number, number] = [(b.min[0] + b.max[0]) / 2, (b.min[1] + b.max[1]) / 2, (b.min[2] + b.max[2]) / 2];
    const radius = 1.5 * Math.hypot(b.max[0] - b.min[0], b.max[1] - b.min[1], b.max[2] - b.min[2]);
    const cams = Array.from({ length: VIEWS }, (_, k) => {
      const a = (k / VIEWS) * Math.PI * 2;
      const eye: [number, number, number] = [centre[0] + radius * Math.cos(a), centre[1] - radius * 0.3, centre[2] + radius * Math.sin(a)];
      return lookAtCamera(`view_${k}`, eye, centre, [0, -1, 0], 320, 240, Math.PI / 3);
    });
    await writeInriaCameras(cams, join(capture, 'cameras.json'));
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lists the views, draws their frusta, and jumps to a picked view', async () => {
    const { page } = studio;
    await createProjectByPath(page, join(work, 'project'), capture);
    await waitForSplatCount(page, 90854);
    const items = page.getByTestId('view-row');
    expect(await items.count()).toBe(VIEWS);
    expect(await items.first().textContent()).toBe('view_0');

    // The project opens at view_0. Frame the guitar from there and zoom out so the camera ring is
    // in view, then compare with and without the frusta.
    const viewport = page.getByTestId('viewport');
    await viewport.hover();
    await afterFrames(page, () => page.keyboard.press('KeyF'));
    await afterFrames(page, async () => {
      for (let i = 0; i < 6; i++) await page.mouse.wheel(0, 400);
    });
    await page.getByTestId('render-toggle').click();
    const withFrusta = await viewport.screenshot();
    await page.getByTestId('render-toggle').click();
    await afterFrames(page, () => page.keyboard.press('KeyC'));
    await page.getByTestId('render-toggle').click();
    const withoutFrusta = await viewport.screenshot();
    await page.getByTestId('render-toggle').click();
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'e2e-views-frusta.png'), withFrusta);
    expect(meanDifference(withFrusta, withoutFrusta)).toBeGreaterThan(0.05);
    await page.keyboard.press('KeyC');

    // Click-to-jump: click the leftmost drawn frustum (found by its colour in the screenshot).
    const shot = decode(withFrusta);
    const yellow: [number, number][] = [];
    for (let y = 0; y < shot.height; y++) {
      for (let x = 0; x < shot.width; x++) {
        const i = (y * shot.width + x) * shot.channels;
        const [r, g, bl] = [Number(shot.data[i]), Number(shot.data[i + 1]), Number(shot.data[i + 2])];
        if (r > 190 && g > 130 && g < 215 && bl < 110) yellow.push([x, y]);
      }
    }
    const leftmost = yellow.reduce((a, p) => (p[0] < a[0] ? p : a), [Infinity, 0] as [number, number]);
    const cluster = yellow.filter(([x, y]) => Math.hypot(x - leftmost[0], y - leftmost[1]) < 20);
    const sx = cluster.reduce((a, p) => a + p[0], 0);
    const sy = cluster.reduce((a, p) => a + p[1], 0);
    const n = cluster.length;
    expect(n).toBeGreaterThan(5);
    await viewport.click({ position: { x: sx / n, y: sy / n } });
    await expect.poll(() => page.locator('[data-testid="view-row"][aria-current="true"]').count()).toBe(1);
    await afterFrames(page, () => page.keyboard.press('KeyF'));

    // Jumping to a view changes what the viewport shows and marks the view selected.
    // Two frames: the jump itself, then the redraw after the library re-sorts for the new view.
    await afterFrames(page, () => items.nth(2).click(), 2);
    await page.getByTestId('render-toggle').click();
    const fromView = await viewport.screenshot();
    writeFileSync(join(ARTIFACTS, 'e2e-views-jump.png'), fromView);
    expect(meanDifference(fromView, withFrusta)).toBeGreaterThan(1);
    expect(await items.nth(2).getAttribute('aria-current')).toBe('true');
    await page.getByTestId('render-toggle').click();

    // Holding W flies forward: frames are drawn back to back (the status bar shows a real frame
    // time) and the view changes.
    await viewport.hover();
    await page.keyboard.down('KeyW');
    // Held for a while and for several frames: the step is speed x frame time (capped per frame),
    // so a few quick frames alone move the camera too little to see.
    await afterFrames(page, () => page.waitForTimeout(700), 6);
    await page.keyboard.up('KeyW');
    expect(await page.getByTestId('frame-time').textContent()).toMatch(/\d+ ms\/frame \([\d.]+ fps\)/);
    await page.getByTestId('render-toggle').click();
    const flown = await viewport.screenshot();
    expect(meanDifference(flown, fromView)).toBeGreaterThan(0.5);
  }, E2E_TIMEOUT_MS);
});
