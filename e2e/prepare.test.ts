/**
 * The Training panel's Prepare end to end in browser mode: the real host (startServer), the built
 * renderer in headless Chromium, and a small synthetic capture folder (4 views of 160x120 rendered
 * by the synth engine) made here. The masks come from the built-in default (no model downloads).
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSynthFolder } from '../main/engine/synth/folder.ts';
import { ARTIFACTS } from './fixtures.ts';
import { createProjectByPath, openProjectByPath, openStudio, waitForSplatCount, type StudioSession } from './support/studio.ts';
import type { Page } from 'playwright-core';

const VIEWS = 4;
const GAUSSIANS = 4000;

/** What the page saw while a prepare ran: its progress lines, recorded the moment they change. */
async function recordProgress(page: Page, options: { cancelOnSight: boolean }): Promise<void> {
  await page.evaluate((cancelOnSight) => {
    const w = window as unknown as { __prepareSeen: string[]; __prepareObserver?: MutationObserver };
    w.__prepareObserver?.disconnect();
    w.__prepareSeen = [];
    const observer = new MutationObserver(() => {
      const text = document.querySelector('[data-testid="prepare-progress-text"]')?.textContent?.trim();
      if (text && w.__prepareSeen.at(-1) !== text) w.__prepareSeen.push(text);
      const cancel = document.querySelector<HTMLButtonElement>('[data-testid="prepare-cancel"]');
      // A person would click Cancel while it shows; the job on 4 tiny views lasts well under a
      // second, so the click is made the moment the button appears (a real DOM click on it).
      if (cancelOnSight && cancel && !cancel.dataset['clicked']) {
        cancel.dataset['clicked'] = '1';
        cancel.click();
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    w.__prepareObserver = observer;
  }, options.cancelOnSight);
}

/** Stops recording (and cancelling) and returns the progress lines seen. */
async function progressSeen(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __prepareSeen: string[]; __prepareObserver?: MutationObserver };
    w.__prepareObserver?.disconnect();
    delete w.__prepareObserver;
    return w.__prepareSeen;
  });
}

/**
 * A capture folder whose views are the source's views repeated `copies` times (same images, same
 * cameras, new names): a prepare job on it lasts long enough to leave and come back while it runs,
 * without rendering large images first.
 */
function repeatViews(source: string, target: string, copies: number): number {
  cpSync(join(source, 'point_cloud'), join(target, 'point_cloud'), { recursive: true });
  mkdirSync(join(target, 'images'), { recursive: true });
  const cameras = JSON.parse(readFileSync(join(source, 'cameras.json'), 'utf8')) as { id: number; img_name: string }[];
  const repeated: { id: number; img_name: string }[] = [];
  for (let k = 0; k < copies; k++) {
    for (const cam of cameras) {
      const name = `${cam.img_name}_${String(k).padStart(2, '0')}`;
      copyFileSync(join(source, 'images', `${cam.img_name}.png`), join(target, 'images', `${name}.png`));
      repeated.push({ ...cam, id: repeated.length, img_name: name });
    }
  }
  writeFileSync(join(target, 'cameras.json'), JSON.stringify(repeated));
  return repeated.length;
}

describe('Training panel: Prepare', () => {
  let studio: StudioSession;
  let work: string;
  let capture: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'saga-e2e-prepare-'));
    capture = join(work, 'capture');
    await writeSynthFolder(capture, { seed: 7, gaussians: GAUSSIANS, views: VIEWS, width: 160, height: 120, kind: 'tabletop' });
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('prepares every view with the built-in masks, showing progress and then the summary', async () => {
    const { page } = studio;
    const project = join(work, 'project');
    await createProjectByPath(page, project, capture);
    await expect.poll(() => page.getByTestId('prepare-state').textContent(), { timeout: 60_000 }).toBe(`0 of ${VIEWS} views prepared`);
    await expect.poll(() => page.getByTestId('views-list').locator('li').count()).toBe(VIEWS);

    await recordProgress(page, { cancelOnSight: false });
    await page.getByTestId('prepare-button').click();
    const summary = page.getByTestId('prepare-summary');
    await summary.waitFor({ timeout: 45_000 });

    const seen = await progressSeen(page);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((t) => new RegExp(`view \\d of ${VIEWS}`).test(t))).toBe(true);
    expect(await page.getByTestId('prepare-progress').count()).toBe(0);

    expect(await page.getByTestId('prepare-done').textContent()).toBe(String(VIEWS));
    expect(await page.getByTestId('prepare-skipped').textContent()).toBe('0');
    expect(await page.getByTestId('prepare-failed').textContent()).toBe('0');
    expect(await page.getByTestId('prepare-source').getAttribute('data-source')).toBe('auto');
    expect(await page.getByTestId('prepare-source').textContent()).toContain('built-in');
    expect(await page.getByTestId('prepare-recommendation').textContent()).toMatch(/SAM/);
    await expect.poll(() => page.getByTestId('prepare-state').textContent()).toBe(`${VIEWS} of ${VIEWS} views prepared · masks: built-in (no SAM model)`);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'e2e-prepare-summary.png'), await page.getByTestId('training-panel').screenshot());
  });

  it('a forced run cancelled at once ends as cancelled and keeps the views prepared before', async () => {
    const { page } = studio;
    await page.getByTestId('prepare-force').check();
    await recordProgress(page, { cancelOnSight: true });
    await page.getByTestId('prepare-button').click();

    const outcome = page.getByTestId('prepare-outcome');
    await outcome.waitFor({ timeout: 45_000 });
    const seen = await progressSeen(page);
    expect(seen[0]).toBe('Preparing masks · starting…');
    // Cancelled long before the last view: the bar never reached it.
    expect(seen).not.toContain(`Preparing masks · view ${VIEWS} of ${VIEWS} · view_00${VIEWS - 1}`);
    expect(await outcome.getAttribute('data-kind')).toBe('cancelled');
    // In the app's words: what to click, not a command to run.
    expect(await outcome.textContent()).toMatch(/Cancelled\..*click Prepare/);
    expect(await page.getByTestId('prepare-summary').count()).toBe(0);
    expect(await page.getByTestId('prepare-progress').count()).toBe(0);
    // Forcing recomputes view by view; nothing finished is thrown away by a cancel.
    await expect.poll(() => page.getByTestId('prepare-state').textContent()).toBe(`${VIEWS} of ${VIEWS} views prepared · masks: built-in (no SAM model)`);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
  });

  it('reopening the project shows its prepared state', async () => {
    const { page } = studio;
    const project = join(work, 'project');
    await page.getByTestId('close-project').click();
    await page.getByTestId('no-project').waitFor();
    expect(await page.getByTestId('training-panel').count()).toBe(0);
    await openProjectByPath(page, project);
    await waitForSplatCount(page, GAUSSIANS, 60_000);
    await expect.poll(() => page.getByTestId('prepare-state').textContent()).toBe(`${VIEWS} of ${VIEWS} views prepared · masks: built-in (no SAM model)`);
    expect(studio.pageErrors).toEqual([]);
  });

  it('prepares from a folder of imported masks, and refuses a folder that does not exist', async () => {
    const { page } = studio;
    await page.getByTestId('mask-source-folder').check();
    await page.getByTestId('mask-folder').fill(join(work, 'no-such-masks'));
    await page.getByTestId('prepare-button').click();
    const banner = page.getByTestId('error-banner');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toContain('is not a folder');
    expect(await page.getByTestId('prepare-progress').count()).toBe(0);

    // The synthetic capture carries oracle masks in the imported layout: masks/<image-stem>/<k>.png.
    await page.getByTestId('mask-folder').fill(join(capture, 'masks'));
    await page.getByTestId('prepare-force').check();
    await page.getByTestId('prepare-button').click();
    await page.getByTestId('prepare-summary').waitFor({ timeout: 45_000 });
    expect(await page.getByTestId('prepare-source').getAttribute('data-source')).toBe('imported');
    expect(await page.getByTestId('prepare-done').textContent()).toBe(String(VIEWS));
    expect(await page.getByTestId('prepare-recommendation').count()).toBe(0);
    await expect.poll(() => page.getByTestId('prepare-state').textContent()).toBe(`${VIEWS} of ${VIEWS} views prepared · masks: imported masks`);
    expect(await banner.count()).toBe(0);
    await page.getByTestId('mask-source-auto').check();
    await page.getByTestId('prepare-force').uncheck();
  });

  it('a page opened while a prepare job runs reattaches its progress bar and gets the summary', async () => {
    const { page } = studio;
    const longCapture = join(work, 'capture-long');
    const views = repeatViews(capture, longCapture, 10);
    // One broken image: that view fails with its reason listed, the others still finish.
    const broken = 'view_002_05';
    writeFileSync(join(longCapture, 'images', `${broken}.png`), 'not a PNG');
    const project = join(work, 'project-long');
    await createProjectByPath(page, project, longCapture);
    await expect.poll(() => page.getByTestId('prepare-state').textContent(), { timeout: 60_000 }).toBe(`0 of ${views} views prepared`);
    await page.getByTestId('prepare-button').click();
    await page.getByText(new RegExp(`view \\d+ of ${views}`)).waitFor({ timeout: 30_000 });

    // A new page (a reload, or a second window) knows nothing of the job until it opens the project.
    await page.reload();
    await page.getByText(/browser · v/).waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('prepare-progress').count()).toBe(0);
    await recordProgress(page, { cancelOnSight: false });
    await openProjectByPath(page, project);
    const summary = page.getByTestId('prepare-summary');
    await summary.waitFor({ timeout: 60_000 });
    const seen = await progressSeen(page);
    expect(seen.some((t) => new RegExp(`view \\d+ of ${views}`).test(t))).toBe(true);
    expect(Number(await page.getByTestId('prepare-done').textContent()) + Number(await page.getByTestId('prepare-skipped').textContent())).toBe(views - 1);
    expect(await page.getByTestId('prepare-failed').textContent()).toBe('1');
    const errors = page.getByTestId('prepare-errors').locator('li');
    expect(await errors.count()).toBe(1);
    expect(await errors.first().textContent()).toContain(broken);
    await expect.poll(() => page.getByTestId('prepare-state').textContent()).toBe(`${views - 1} of ${views} views prepared · masks: built-in (no SAM model)`);
    writeFileSync(join(ARTIFACTS, 'e2e-prepare-failed-view.png'), await page.getByTestId('training-panel').screenshot());
  });

  // Last: it stops this suite's server.
  it('when the connection drops mid-job, the panel ends the job and its buttons work again', async () => {
    const { page } = studio;
    await page.getByTestId('prepare-force').check();
    await page.getByTestId('prepare-button').click();
    await page.getByTestId('prepare-progress').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('prepare-button').isDisabled()).toBe(true);

    await studio.server.close();
    const outcome = page.getByTestId('prepare-outcome');
    await outcome.waitFor({ timeout: 15_000 });
    expect(await outcome.getAttribute('data-kind')).toBe('failed');
    expect(await page.getByTestId('prepare-progress').count()).toBe(0);
    const banner = page.getByTestId('error-banner');
    expect(await banner.getAttribute('data-code')).toBe('DISCONNECTED');
    expect(await banner.textContent()).toMatch(/Lost the connection/);
    expect(await page.getByTestId('prepare-button').isDisabled()).toBe(false);

    // A later action fails at once with the same reason instead of waiting for an answer that cannot come.
    await page.getByTestId('verify-source').click();
    await expect.poll(() => banner.getAttribute('data-code')).toBe('DISCONNECTED');
    expect(await page.getByTestId('verify-source').isDisabled()).toBe(false);
  }, 120_000);
});
