/**
 * The editing workflow end to end in browser mode: the real host, the built renderer in headless
 * Chromium, and a small synthetic project (saga-studio synth, prepared with its oracle masks and
 * trained a few hundred iterations in Node, as the CLI would). Click an object with the Click tool
 * at the viewport's camera, see the selection count, make a layer from it, delete it (the splat
 * count drops), undo and redo with the keys, jump through the history panel, save the edited scene
 * and read the file back: the right count, and every kept row bit for bit. Saving onto the source
 * scene asks first and writes nothing when declined; the page reloaded finds the edits, the layer
 * and the history. Screenshots go to the artifacts folder.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalPrompt } from '../main/engine/eval/types.ts';
import type { SynthProject } from '../main/host/testing/synth-project.ts';
import { readScene } from '../main/scene/io.ts';
import type { Camera } from '../main/scene/camera.ts';
import { ARTIFACTS } from './fixtures.ts';
import { changedShare, type Image } from './support/pixels.ts';
import { afterFrames, openProjectByPath, openStudio, waitForSplatCount, type StudioSession } from './support/studio.ts';
import { pageAt, pressForEditor, selectionCount, trainedSynthProject, viewportGeometry } from './support/trained-project.ts';

const GAUSSIANS = 4000;
const E2E_TIMEOUT_MS = 180_000;

const splatCount = async (page: Page) => Number(await page.getByTestId('splat-count').textContent());

/** A still screenshot of the window (the render loop paused), kept as an artifact; returns the viewport's pixels. */
async function shot(page: Page, name: string): Promise<Image> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.getByTestId('render-toggle').click();
  writeFileSync(join(ARTIFACTS, `e2e-editing-${name}.png`), await page.screenshot());
  const png = decode(await page.getByTestId('viewport').screenshot());
  await afterFrames(page, () => page.getByTestId('render-toggle').click());
  return { width: png.width, height: png.height, data: png.data as Uint8Array, channels: png.channels };
}

/** The selection hint's last draw (splats, tinted pixels) and the tinted pixels it shows now. */
function hintState(page: Page): Promise<{ splats: number; tinted: number; left: number }> {
  return page.evaluate(() => {
    const hint = document.querySelector<HTMLCanvasElement>('[data-testid=selection-hint]')!;
    const data = hint.getContext('2d')!.getImageData(0, 0, hint.width, hint.height).data;
    let left = 0;
    for (let p = 3; p < data.length; p += 4) left += data[p]! > 0 ? 1 : 0;
    return { splats: Number(hint.dataset.drawn ?? 0), tinted: Number(hint.dataset.tinted ?? 0), left };
  });
}

describe('Editing: prompt, layer, delete, undo, redo, history, save', () => {
  let studio: StudioSession;
  let root: string;
  let synth: SynthProject;
  let prompt: EvalPrompt;
  let sourcePath: string;
  /** The first training view's camera, where the viewport opens. */
  let camera: Camera;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'saga-e2e-editing-'));
    ({ synth, sourcePath, camera, prompt } = await trainedSynthProject(root, { gaussians: GAUSSIANS, iterations: 400 }));
    studio = await openStudio();
  }, E2E_TIMEOUT_MS);

  afterAll(async () => {
    await studio?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('clicks an object, makes a layer, deletes, undoes, redoes, jumps in the history and saves', async () => {
    const { page } = studio;
    // Wide enough that the canvas shows the whole first view (4:3) next to the two panels.
    await page.setViewportSize({ width: 1700, height: 900 });
    await openProjectByPath(page, synth.projectDir);
    await waitForSplatCount(page, GAUSSIANS);
    await page.getByTestId('tool-click').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('tool-click').getAttribute('aria-pressed')).toBe('true');
    // The views were prepared without SAM: the SAM tool is not offered.
    expect(await page.getByTestId('tool-sam').isDisabled()).toBe(true);
    expect(await selectionCount(page)).toBe(0);
    expect(await page.getByTestId('history-row').count()).toBe(0);
    // Drawn training cameras would take the click (a click on one jumps to its view).
    await page.getByTestId('cameras-toggle').click();

    // Where the prompt's view pixel shows on the page: the viewport sits exactly at that view.
    const geometry = await viewportGeometry(page);
    const click = prompt.points.find((p) => p.label === 1)!;
    const at = pageAt(camera, geometry, click.x, click.y);
    await page.mouse.click(at.x, at.y);
    // Polled with the banner, so a refused prompt fails with what the app said.
    await expect.poll(async () => `${await selectionCount(page) > 0}: ${(await page.getByTestId('error-banner').count()) ? await page.getByTestId('error-banner').textContent() : ''}`, { timeout: 30_000 }).toBe('true: ');
    // A click at a free camera shows a preview first; the count to keep is the finished selection's.
    await page.waitForFunction(() => performance.getEntriesByName('saga:prompt-final').length > 0, undefined, { timeout: 60_000, polling: 50 });
    const selected = await selectionCount(page);
    const onTarget = synth.objectIds.filter((id) => id === prompt.targetId).length;
    const [previewMs, answerMs] = await page.evaluate(() => ['saga:prompt-preview', 'saga:prompt-answer'].map((m) => performance.getEntriesByName(m).at(-1)?.duration ?? -1));
    console.log(`[e2e editing] click to visible selection at ${GAUSSIANS} Gaussians: ${previewMs!.toFixed(0)} ms (answer ${answerMs!.toFixed(0)} ms; selected ${selected}, the object has ${onTarget})`);
    await shot(page, 'selected');
    expect(await splatCount(page)).toBe(GAUSSIANS);
    // The selection hint (the flat overlay drawn before the splats are recoloured) showed the
    // selection first, and was gone once the splats showed it.
    const hinted = await hintState(page);
    expect(hinted.tinted).toBeGreaterThan(0);
    expect(hinted.splats).toBeGreaterThan(0);
    expect(hinted.splats).toBeLessThanOrEqual(selected);
    expect(hinted.left).toBe(0);

    await page.getByTestId('new-layer-name').fill('Object');
    await page.getByTestId('new-layer').click();
    await expect.poll(() => page.getByTestId('layer-row').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('layer-name').inputValue()).toBe('Object');
    expect(await page.getByTestId('layer-count').textContent()).toBe(selected.toLocaleString('en-US'));

    // Delete (the key) drops the selected Gaussians from the count and the view.
    await pressForEditor(page, 'Delete');
    await expect.poll(() => splatCount(page), { timeout: 30_000 }).toBe(GAUSSIANS - selected);
    await shot(page, 'deleted');
    await pressForEditor(page, 'Control+z');
    await expect.poll(() => splatCount(page), { timeout: 30_000 }).toBe(GAUSSIANS);
    await pressForEditor(page, 'Control+Shift+z');
    await expect.poll(() => splatCount(page), { timeout: 30_000 }).toBe(GAUSSIANS - selected);
    await pressForEditor(page, 'Control+z');
    await expect.poll(() => splatCount(page), { timeout: 30_000 }).toBe(GAUSSIANS);
    await pressForEditor(page, 'Control+y');
    await expect.poll(() => splatCount(page), { timeout: 30_000 }).toBe(GAUSSIANS - selected);

    // One row per step: the layer, the delete. A click on a step goes to just after it.
    const rows = page.getByTestId('history-row');
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(1).textContent()).toMatch(/Delete/);
    await rows.nth(0).click();
    await expect.poll(() => splatCount(page), { timeout: 30_000 }).toBe(GAUSSIANS);
    await rows.nth(1).click();
    await expect.poll(() => splatCount(page), { timeout: 30_000 }).toBe(GAUSSIANS - selected);
    expect(await rows.count()).toBe(2);

    // Saving onto the source scene asks first; declined, nothing is written.
    const sourceBefore = statSync(sourcePath).mtimeMs;
    await page.getByTestId('save-scene').click();
    await page.getByTestId('path-input').fill(sourcePath);
    await page.getByTestId('path-submit').click();
    await page.getByTestId('choice-dialog').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('choice-message').textContent()).toMatch(/source scene/);
    await page.getByTestId('choice-cancel').click();
    expect(statSync(sourcePath).mtimeMs).toBe(sourceBefore);

    const out = join(root, 'edited.ply');
    await page.getByTestId('save-scene').click();
    await page.getByTestId('path-input').fill(out);
    await page.getByTestId('path-submit').click();
    await expect.poll(() => page.getByTestId('notice').textContent(), { timeout: 60_000 }).toMatch(/^Saved /);
    const visible = await splatCount(page);
    const saved = await readScene(out);
    expect(saved.count).toBe(visible);
    // Every kept row is a source row, in order, bit for bit; exactly the deleted ones are missing.
    const src = synth.scene;
    const same = (k: number, i: number) => {
      for (let c = 0; c < 3; c++) if (!Object.is(saved.positions[3 * k + c], src.positions[3 * i + c])) return false;
      return Object.is(saved.opacities[k], src.opacities[i]) && Object.is(saved.scales[3 * k], src.scales[3 * i]);
    };
    let k = 0;
    const skipped: number[] = [];
    for (let i = 0; i < src.count; i++) {
      if (k < saved.count && same(k, i)) k++;
      else skipped.push(i);
    }
    expect(k).toBe(saved.count);
    expect(skipped.length).toBe(selected);
    // What the click selected (and was deleted) is the clicked object (the synthetic ground truth).
    const precision = skipped.filter((i) => synth.objectIds[i] === prompt.targetId).length / skipped.length;
    expect(precision).toBeGreaterThan(0.8);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    expect(studio.pageErrors).toEqual([]);
    await shot(page, 'saved');

    // A new window on the project finds the edits, the layer and the history as they were.
    await page.reload();
    await page.getByText(/browser · v/).waitFor({ timeout: 30_000 });
    await openProjectByPath(page, synth.projectDir);
    await waitForSplatCount(page, GAUSSIANS - selected);
    await expect.poll(() => page.getByTestId('history-row').count(), { timeout: 30_000 }).toBe(2);
    expect(await page.getByTestId('layer-row').count()).toBe(1);
    expect(await page.getByTestId('layer-name').inputValue()).toBe('Object');

    // The Box tool draws with the left button instead of orbiting: a box selects what is in it,
    // and once the selection is cleared the picture is the one before the drag (the view stayed).
    await page.getByTestId('cameras-toggle').click();
    await page.keyboard.press('3');
    const still = await shot(page, 'before-box');
    expect(await page.getByTestId('tool-box').getAttribute('aria-pressed')).toBe('true');
    const before = await page.evaluate(() => performance.getEntriesByName('saga:prompt-final').length);
    const cx = geometry.left + geometry.cssWidth / 2;
    const cy = geometry.top + geometry.cssHeight / 2;
    await page.mouse.move(cx - 150, cy - 100);
    await page.mouse.down();
    for (let step = 1; step <= 5; step++) await page.mouse.move(cx - 150 + 60 * step, cy - 100 + 40 * step);
    await page.mouse.up();
    await page.waitForFunction((n) => performance.getEntriesByName('saga:prompt-final').length > n, before, { timeout: 60_000, polling: 50 });
    expect(await selectionCount(page)).toBeGreaterThan(0);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    const boxed = await shot(page, 'box');
    expect(changedShare(still, boxed)).toBeGreaterThan(0.002);
    // Clearing redraws the splats once: wait for that frame.
    await afterFrames(page, () => pressForEditor(page, 'Alt+a'));
    expect(await selectionCount(page)).toBe(0);
    expect(changedShare(still, await shot(page, 'box-cleared'))).toBeLessThan(0.005);

    // Away from the training views a click goes in two requests: the hint shows the raw selection
    // at once, the splats the finished one; the hint is gone once they do. The clicked object was
    // deleted above: going back in the history to before the delete brings it back to click on.
    await page.getByTestId('history-row').nth(0).click();
    await expect.poll(() => splatCount(page), { timeout: 30_000 }).toBe(GAUSSIANS);
    await page.keyboard.press('1');
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let step = 1; step <= 4; step++) await page.mouse.move(cx + 5 * step, cy);
    await page.mouse.up();
    await page.evaluate(() => {
      const hint = document.querySelector<HTMLCanvasElement>('[data-testid=selection-hint]')!;
      delete hint.dataset.tinted;
    });
    const beforeFree = await page.evaluate(() => performance.getEntriesByName('saga:prompt-final').length);
    // The largest object of the first view, a few degrees of orbit away: still under its old pixel.
    await page.mouse.click(at.x, at.y);
    await page.waitForFunction((n) => performance.getEntriesByName('saga:prompt-final').length > n, beforeFree, { timeout: 60_000, polling: 50 });
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    const free = await hintState(page);
    expect(await selectionCount(page)).toBeGreaterThan(0);
    expect(free.tinted).toBeGreaterThan(0);
    expect(free.left).toBe(0);
  }, E2E_TIMEOUT_MS);
});
