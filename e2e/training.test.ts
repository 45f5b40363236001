/**
 * The Training panel's feature training and the Features display mode end to end in browser mode:
 * the real host, the built renderer in headless Chromium, and a small synthetic scene (saga-studio
 * synth output) imported as a project and prepared with its oracle masks. Train with progress and
 * the loss plot, Pause, Resume, Cancel (partial), Train again to the end (trained), colour splats by
 * their features and back (screenshots of a paused render loop), prepare again (stale), a page
 * opened during a run attaches to it, and a lost connection frees the buttons.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSynthFolder } from '../main/engine/synth/folder.ts';
import { ARTIFACTS } from './fixtures.ts';
import { changedShare, type Image } from './support/pixels.ts';
import { afterFrames, createProjectByPath, openProjectByPath, openStudio, waitForSplatCount, type StudioSession } from './support/studio.ts';

const VIEWS = 4;
const GAUSSIANS = 4000;
const ITERATIONS = 400;
/** Generous: under `npm test` these share two cores with every other suite. */
const E2E_TIMEOUT_MS = 240_000;

const state = (page: Page) => page.getByTestId('training-state').getAttribute('data-state');
const stateText = (page: Page) => page.getByTestId('training-state').textContent();

/** The iteration the progress line shows ("Iteration 120 of 400 · …"), or -1 before the first. */
async function shownIteration(page: Page): Promise<number> {
  const text = (await page.getByTestId('train-progress-text').textContent()) ?? '';
  const m = /^Iteration ([\d,]+) of/.exec(text);
  return m ? Number(m[1]!.replace(/,/g, '')) : -1;
}

async function waitForIteration(page: Page, atLeast: number, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    (n) => {
      const m = /^Iteration ([\d,]+) of/.exec(document.querySelector('[data-testid="train-progress-text"]')?.textContent ?? '');
      return m !== null && Number(m[1]!.replace(/,/g, '')) >= n;
    },
    atLeast,
    { timeout, polling: 50 },
  );
}

/** A still screenshot of the viewport: the render loop is paused while it is taken. */
async function viewportShot(page: Page, name: string): Promise<Image> {
  await page.getByTestId('render-toggle').click();
  const png = await page.getByTestId('viewport').screenshot();
  // Resuming redraws once; wait for that frame so the next step starts from a drawn view.
  await afterFrames(page, () => page.getByTestId('render-toggle').click());
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, `e2e-training-${name}.png`), png);
  const image = decode(png);
  return { width: image.width, height: image.height, data: image.data as Uint8Array, channels: image.channels };
}

describe('Training panel: Train and the Features display mode', () => {
  let studio: StudioSession;
  let work: string;
  let synth: string;
  let project: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'saga-e2e-training-'));
    synth = join(work, 'synth');
    project = join(work, 'project');
    await writeSynthFolder(synth, { seed: 11, gaussians: GAUSSIANS, views: VIEWS, width: 96, height: 72, kind: 'tabletop' });
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('trains only once views are prepared (with the synthetic scene\'s oracle masks)', async () => {
    const { page } = studio;
    await createProjectByPath(page, project, synth);
    await waitForSplatCount(page, GAUSSIANS, 90_000);
    await expect.poll(() => state(page), { timeout: 30_000 }).toBe('missing');
    expect(await stateText(page)).toMatch(/Prepare the views first/);
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
    expect(await page.getByTestId('features-toggle').isDisabled()).toBe(true);
    expect(await page.getByTestId('train-iterations').inputValue()).toBe('10000');

    await page.getByTestId('mask-source-folder').check();
    await page.getByTestId('mask-folder').fill(join(synth, 'masks'));
    await page.getByTestId('prepare-button').click();
    await page.getByTestId('prepare-summary').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('prepare-done').textContent()).toBe(String(VIEWS));
    await expect.poll(() => stateText(page)).toBe('Not trained yet.');
    expect(await page.getByTestId('train-start').isEnabled()).toBe(true);
  }, E2E_TIMEOUT_MS);

  it('shows progress and the loss plot, pauses, resumes, and a cancel leaves it partly trained', async () => {
    const { page } = studio;
    await page.getByTestId('train-iterations').fill(String(ITERATIONS));
    await page.getByTestId('train-start').click();
    await page.getByTestId('train-progress').waitFor({ timeout: 30_000 });
    expect(await state(page)).toBe('training');
    // Prepare and Train never run together on one project.
    expect(await page.getByTestId('prepare-button').isDisabled()).toBe(true);
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true);
    await waitForIteration(page, 20);
    expect(await page.getByTestId('train-progress-text').textContent()).toMatch(new RegExp(`^Iteration \\d+ of ${ITERATIONS} · [\\d.]+ it/s`));
    await expect.poll(() => page.getByTestId('loss-plot').getAttribute('data-points').then(Number), { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('loss-plot').locator('canvas').count()).toBe(1);

    await page.getByTestId('train-pause').click();
    await expect.poll(() => state(page), { timeout: 30_000 }).toBe('paused');
    // The step under way when Pause was pressed still finishes and reports; then nothing moves.
    await new Promise((r) => setTimeout(r, 1000));
    const pausedAt = await shownIteration(page);
    expect(await stateText(page)).toBe(`Paused at iteration ${pausedAt} of ${ITERATIONS}. Resume goes on from there.`);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await shownIteration(page)).toBe(pausedAt);
    expect(await page.getByTestId('train-resume').isVisible()).toBe(true);

    await page.getByTestId('train-resume').click();
    await expect.poll(() => state(page), { timeout: 30_000 }).toBe('training');
    await waitForIteration(page, pausedAt + 10);
    writeFileSync(join(ARTIFACTS, 'e2e-training-running.png'), await page.getByTestId('training-panel').screenshot());
    await page.getByTestId('train-cancel').click();

    const outcome = page.getByTestId('train-outcome');
    await outcome.waitFor({ timeout: 60_000 });
    expect(await outcome.getAttribute('data-kind')).toBe('cancelled');
    const stoppedAt = Number(/stopped at iteration (\d+)/.exec((await outcome.textContent()) ?? '')?.[1]);
    expect(stoppedAt).toBeGreaterThan(pausedAt);
    expect(stoppedAt).toBeLessThan(ITERATIONS);
    await expect.poll(() => state(page), { timeout: 30_000 }).toBe('partial');
    expect(await stateText(page)).toBe(`Partly trained: ${stoppedAt} of ${ITERATIONS} iterations. Train resumes at ${stoppedAt}.`);
    expect(await page.getByTestId('train-progress').count()).toBe(0);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
  }, E2E_TIMEOUT_MS);

  it('trains again from there to the end', async () => {
    const { page } = studio;
    expect(await page.getByTestId('train-iterations').inputValue()).toBe(String(ITERATIONS));
    await page.getByTestId('train-start').click();
    const outcome = page.getByTestId('train-outcome');
    await page.waitForFunction(() => document.querySelector('[data-testid="train-outcome"]')?.getAttribute('data-kind') === 'done', undefined, { timeout: 180_000, polling: 100 });
    expect(await outcome.textContent()).toMatch(new RegExp(`^Trained \\d+ iterations in [\\d.]+ s \\(now at ${ITERATIONS}\\)\\.$`));
    await expect.poll(() => state(page), { timeout: 30_000 }).toBe('trained');
    expect(await stateText(page)).toBe(`Trained: ${ITERATIONS} iterations.`);
    expect(Number(await page.getByTestId('loss-plot').getAttribute('data-points'))).toBeGreaterThan(5);
    expect(await page.getByTestId('features-toggle').isEnabled()).toBe(true);
    writeFileSync(join(ARTIFACTS, 'e2e-training-trained.png'), await page.getByTestId('training-panel').screenshot());
  }, E2E_TIMEOUT_MS);

  it('colours the splats by their features and back, without reloading the scene', async () => {
    const { page } = studio;
    const own = await viewportShot(page, 'own-colours');
    const toggle = page.getByTestId('features-toggle');
    await toggle.click();
    await expect.poll(() => toggle.getAttribute('aria-pressed'), { timeout: 60_000 }).toBe('true');
    const features = await viewportShot(page, 'features');
    // The splats (a good part of the view) changed colour; the count shows no reload happened.
    expect(changedShare(own, features)).toBeGreaterThan(0.05);
    expect(await page.getByTestId('splat-count').textContent()).toBe(String(GAUSSIANS));

    // The shortcut (T) goes back to the scene's own colours: the same picture as before.
    await page.keyboard.press('t');
    await expect.poll(() => toggle.getAttribute('aria-pressed'), { timeout: 30_000 }).toBe('false');
    const back = await viewportShot(page, 'own-colours-again');
    expect(changedShare(own, back)).toBeLessThan(0.005);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
  }, E2E_TIMEOUT_MS);

  it('says the features are stale once the views are prepared again with other masks', async () => {
    const { page } = studio;
    // The same masks again would change nothing: the built-in ones replace the oracle's.
    await page.getByTestId('mask-source-auto').check();
    await page.getByTestId('prepare-force').check();
    await page.getByTestId('prepare-button').click();
    await page.getByTestId('prepare-summary').waitFor({ timeout: 60_000 });
    await expect.poll(() => state(page), { timeout: 30_000 }).toBe('stale');
    expect(await stateText(page)).toMatch(/prepared again .*: train again\.$/);
    await page.getByTestId('prepare-force').uncheck();
    expect(studio.pageErrors).toEqual([]);
  }, E2E_TIMEOUT_MS);

  it('a page opened while training runs follows that job, and a lost connection frees the buttons', async () => {
    const { page } = studio;
    await page.getByTestId('train-iterations').fill('100000');
    await page.getByTestId('train-start').click();
    await waitForIteration(page, ITERATIONS + 5);

    await page.reload();
    await page.getByText(/browser · v/).waitFor({ timeout: 30_000 });
    await openProjectByPath(page, project);
    // Polled on the state line, so a job that ended meanwhile fails with what the panel says.
    await expect.poll(async () => `${await state(page)}: ${await stateText(page)}`, { timeout: 60_000 }).toMatch(/^training: /);
    await page.getByTestId('train-progress').waitFor({ timeout: 30_000 });
    const seen = await (async () => {
      await waitForIteration(page, ITERATIONS + 6, 60_000);
      return shownIteration(page);
    })();
    await waitForIteration(page, seen + 5, 60_000);
    // The loss history of the project is there at once, then grows with the job's events.
    expect(Number(await page.getByTestId('loss-plot').getAttribute('data-points'))).toBeGreaterThan(5);
    await page.getByTestId('train-pause').click();
    await expect.poll(() => state(page), { timeout: 30_000 }).toBe('paused');

    await studio.server.close();
    const banner = page.getByTestId('error-banner');
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.getAttribute('data-code')).toBe('DISCONNECTED');
    expect(await page.getByTestId('train-progress').count()).toBe(0);
    expect(await page.getByTestId('train-start').isEnabled()).toBe(true);
    expect(await page.getByTestId('prepare-button').isEnabled()).toBe(true);
  }, E2E_TIMEOUT_MS);
});
