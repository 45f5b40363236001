/**
 * The SAM tool in the editor, end to end in browser mode: a small synthetic project prepared with
 * the tiny test SAM model (engine/masks/testing/tiny-sam.ts) and trained briefly in Node, opened in
 * headless Chromium. The SAM tool is offered because the views were prepared with SAM; key 5 picks
 * it, and a click on an object selects Gaussians through SAM's decoder (the answer's timings have a
 * `sam` phase) and shows them; a dragged box does too. A project prepared without SAM keeps the
 * tool disabled (e2e/editing.test.ts checks that side).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalPrompt } from '../main/engine/eval/types.ts';
import { ModelManager } from '../main/engine/masks/models.ts';
import { tinySamDecoder, tinySamEncoderColour } from '../main/engine/masks/testing/tiny-sam.ts';
import type { SynthProject } from '../main/host/testing/synth-project.ts';
import type { Camera } from '../main/scene/camera.ts';
import { openProjectByPath, openStudio, waitForSplatCount, type StudioSession } from './support/studio.ts';
import { pageAt, pressForEditor, selectionCount, trainedSynthProject, viewportGeometry } from './support/trained-project.ts';

const GAUSSIANS = 4000;
const E2E_TIMEOUT_MS = 180_000;

/** The last prompt's backend phases, as the toolbar keeps them. */
async function lastTimings(page: Page): Promise<Record<string, number>> {
  return JSON.parse((await page.getByTestId('preview-ms').getAttribute('data-timings')) ?? '{}') as Record<string, number>;
}

describe('Editing: the SAM tool', () => {
  let studio: StudioSession;
  let root: string;
  let synth: SynthProject;
  let prompt: EvalPrompt;
  /** The first training view's camera, where the viewport opens. */
  let camera: Camera;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'saga-e2e-sam-'));
    const modelDir = join(root, 'tiny-sam');
    mkdirSync(modelDir);
    writeFileSync(join(modelDir, 'tiny.encoder.onnx'), tinySamEncoderColour());
    writeFileSync(join(modelDir, 'tiny.decoder.onnx'), tinySamDecoder());
    const model = new ModelManager({ modelsDir: join(root, 'models') }).resolve(modelDir);
    ({ synth, camera, prompt } = await trainedSynthProject(root, { gaussians: GAUSSIANS, views: 3, width: 160, height: 120, sam: model, iterations: 150, threads: 1 }));
    studio = await openStudio();
  }, E2E_TIMEOUT_MS);

  afterAll(async () => {
    await studio?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('is offered for views prepared with SAM, and a click or a box selects through SAM', async () => {
    const { page } = studio;
    await page.setViewportSize({ width: 1700, height: 900 });
    await openProjectByPath(page, synth.projectDir);
    await waitForSplatCount(page, GAUSSIANS);
    const tool = page.getByTestId('tool-sam');
    await expect.poll(() => tool.isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('cameras-toggle').click();
    await pressForEditor(page, '5');
    expect(await tool.getAttribute('aria-pressed')).toBe('true');

    const geometry = await viewportGeometry(page);
    const toPage = (x: number, y: number) => pageAt(camera, geometry, x, y);
    const finals = () => page.evaluate(() => performance.getEntriesByName('saga:prompt-final').length);
    const answered = async (before: number) => {
      await expect.poll(async () => `${(await finals()) > before}: ${(await page.getByTestId('error-banner').count()) ? await page.getByTestId('error-banner').textContent() : ''}`, { timeout: 60_000 }).toBe('true: ');
    };

    const click = prompt.points.find((p) => p.label === 1)!;
    let before = await finals();
    const at = toPage(click.x, click.y);
    await page.mouse.click(at.x, at.y);
    await answered(before);
    const byClick = await selectionCount(page);
    expect(byClick).toBeGreaterThan(0);
    expect(byClick).toBeLessThan(GAUSSIANS / 2);
    expect((await lastTimings(page)).sam).toBeGreaterThan(0);

    // A drag with the SAM tool is a box for SAM (not an orbit).
    before = await finals();
    const from = toPage(Math.max(0, click.x - 6), Math.max(0, click.y - 6));
    const to = toPage(click.x + 14, click.y + 14);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 4 });
    await page.mouse.move(to.x, to.y, { steps: 4 });
    await page.mouse.up();
    await answered(before);
    expect(await selectionCount(page)).toBeGreaterThan(0);
    expect((await lastTimings(page)).sam).toBeGreaterThan(0);
    expect(studio.pageErrors).toEqual([]);
  }, E2E_TIMEOUT_MS);
});
