/**
 * The first minutes with the keyboard, the dialogs and the messages, in browser mode: shortcuts
 * with Shift and Alt, dialogs that take the typing and close on Esc, toggles that show their
 * state, Open Scene on a training output offering its project (and never closing a project
 * without asking), a project without views pointing to render-views, and the SAM model downloaded
 * in the app (a local server plays the model host) with a cancelled run saying to click Prepare.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryModel } from '../main/engine/masks/models.ts';
import { tinySamDecoder, tinySamEncoder } from '../main/engine/masks/testing/tiny-sam.ts';
import { writeSynthFolder } from '../main/engine/synth/folder.ts';
import { SCENES, sharedScene } from './fixtures.ts';
import { framesDrawn, openSceneByPath, openStudio, waitForSplatCount, type StudioSession } from './support/studio.ts';

const VIEWS = 4;
const GAUSSIANS = 4000;
/** Generous: under `npm test` these share two cores with every other suite. */
const E2E_TIMEOUT_MS = 240_000;

/** The test id of the focused element. */
function focused(page: Page): Promise<string | undefined> {
  return page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['testid']);
}

/** A button's computed background colour. */
function background(page: Page, testId: string): Promise<string> {
  return page.getByTestId(testId).evaluate((b) => getComputedStyle(b).backgroundColor);
}

describe('keys, dialogs and messages', () => {
  let studio: StudioSession;
  let work: string;
  let capture: string;
  let models: Server;
  const small = sharedScene(SCENES.compressedSh3);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'saga-e2e-keys-'));
    capture = join(work, 'capture');
    await writeSynthFolder(capture, { seed: 7, gaussians: GAUSSIANS, views: VIEWS, width: 160, height: 120, kind: 'tabletop' });
    // The model host: the tiny SAM stand-ins under the registry's file names, with their sha256.
    const served = new Map([
      ['/tiny.encoder.onnx', tinySamEncoder()],
      ['/tiny.decoder.onnx', tinySamDecoder()],
    ]);
    models = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    });
    await new Promise<void>((ok) => models.listen(0, '127.0.0.1', ok));
    const base = `http://127.0.0.1:${(models.address() as AddressInfo).port}`;
    const file = (name: string) => {
      const bytes = served.get(`/${name}`)!;
      return { file: name, url: `${base}/${name}`, sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    };
    const registry: RegistryModel[] = [
      { id: 'tiny_sam', name: 'Tiny SAM', family: 'test', supported: true, recommended: true, encoder: file('tiny.encoder.onnx'), decoder: file('tiny.decoder.onnx'), input: null, decoderSignature: 'sam' },
    ];
    studio = await openStudio({ modelRegistry: registry });
  });

  afterAll(async () => {
    await studio?.close();
    if (models) await new Promise<void>((ok) => models.close(() => ok()));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('Ctrl+Shift+O asks for a project, Ctrl+O for a scene, Ctrl+Alt+N for a new project; each takes the typing and Esc closes it', async () => {
    const { page } = studio;
    const dialog = page.getByTestId('path-dialog');
    for (const [keys, title] of [
      ['Control+Shift+KeyO', 'Open a project folder'],
      ['Control+KeyO', 'Open a scene file'],
      ['Control+Alt+KeyN', 'New project from a scene'],
    ] as const) {
      await page.locator('body').press(keys);
      await dialog.waitFor();
      expect(await dialog.getByRole('heading').textContent()).toBe(title);
      expect(await focused(page)).toBe('path-input');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
    }
  }, E2E_TIMEOUT_MS);

  it('a dialog opened with its toolbar button takes typed letters: the viewport and the shortcuts do not', async () => {
    const { page } = studio;
    await openSceneByPath(page, small);
    await waitForSplatCount(page, 64);
    const frames = await framesDrawn(page);
    await page.getByTestId('open-scene').click();
    expect(await focused(page)).toBe('path-input');
    // W/A/S fly the camera, C hides the cameras and H opens the help, outside a dialog.
    await page.keyboard.type('wash c');
    expect(await page.getByTestId('path-input').inputValue()).toBe('wash c');
    expect(await page.getByTestId('help-panel').count()).toBe(0);
    expect(await page.getByTestId('cameras-toggle').getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('Escape');
    await page.getByTestId('path-dialog').waitFor({ state: 'detached' });
    // One straggler (a sort finishing) is fine; flying would draw a frame per key repeat.
    expect((await framesDrawn(page)) - frames).toBeLessThanOrEqual(1);
  }, E2E_TIMEOUT_MS);

  it('toggle buttons show whether they are on', async () => {
    const { page } = studio;
    const camerasOn = await background(page, 'cameras-toggle');
    await page.getByTestId('viewport').hover();
    await page.keyboard.press('KeyC');
    await expect.poll(() => page.getByTestId('cameras-toggle').getAttribute('aria-pressed')).toBe('false');
    const camerasOff = await background(page, 'cameras-toggle');
    expect(camerasOn).not.toBe(camerasOff);
    await page.keyboard.press('KeyC');
    expect(await background(page, 'help')).toBe(camerasOff);
    await page.getByTestId('help').click();
    expect(await background(page, 'help')).toBe(camerasOn);
    // The help lists each key once: the fly keys are not repeated after the table.
    const help = (await page.getByTestId('help-panel').textContent()) ?? '';
    expect(help.split('W A S D')).toHaveLength(2);
    expect(help).not.toContain('Fly keys');
    expect(help).toContain('Ctrl+Alt+N');
    expect(help).not.toContain('Ctrl+N');
    await page.getByTestId('help').click();
  }, E2E_TIMEOUT_MS);

  it('Open Scene on a training output offers to create its project; the app downloads a SAM model and a cancelled run says to click Prepare', async () => {
    const { page } = studio;
    await openSceneByPath(page, capture);
    const choice = page.getByTestId('choice-dialog');
    await choice.waitFor();
    expect(await page.getByTestId('choice-message').textContent()).toContain(`${VIEWS} training views`);
    await page.getByTestId('choice-create').click();
    // The new-project dialog comes with the training output as its source, ready for a folder.
    await page.getByTestId('path-dialog').waitFor();
    expect(await page.getByTestId('source-input').inputValue()).toBe(capture);
    expect(await focused(page)).toBe('path-input');
    await page.keyboard.type(join(work, 'project'));
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('project-name').textContent(), { timeout: 60_000 }).toBe('project');
    await waitForSplatCount(page, GAUSSIANS, 60_000);
    await expect.poll(() => page.getByTestId('prepare-state').textContent(), { timeout: 60_000 }).toBe(`0 of ${VIEWS} views prepared`);

    // No model yet: the panel offers the recommended one for download, in the app.
    expect(await page.getByTestId('mask-source-sam').isDisabled()).toBe(true);
    expect(await page.getByTestId('model-download').textContent()).toContain('Tiny SAM');
    expect(await page.getByTestId('training-panel').textContent()).not.toMatch(/saga-studio/);
    await page.getByTestId('model-download').click();
    await expect.poll(() => page.getByTestId('notice').textContent(), { timeout: 60_000 }).toContain('Tiny SAM is installed');
    await expect.poll(() => page.getByTestId('mask-source-sam').isChecked()).toBe(true);
    expect(await page.getByTestId('model-download').count()).toBe(0);

    // A SAM run, cancelled the moment its Cancel button shows.
    await page.evaluate(() => {
      const observer = new MutationObserver(() => {
        const cancel = document.querySelector<HTMLButtonElement>('[data-testid="prepare-cancel"]');
        if (cancel) {
          observer.disconnect();
          cancel.click();
        }
      });
      observer.observe(document.body, { subtree: true, childList: true });
    });
    await page.getByTestId('prepare-button').click();
    const outcome = page.getByTestId('prepare-outcome');
    await outcome.waitFor({ timeout: 60_000 });
    expect(await outcome.getAttribute('data-kind')).toBe('cancelled');
    expect(await outcome.textContent()).toContain('click Prepare');
    expect(await outcome.textContent()).not.toMatch(/saga-studio/);
    expect(studio.pageErrors).toEqual([]);
  }, E2E_TIMEOUT_MS);

  it('never closes a project without asking: Open Scene offers the project made from a training output, and asks before a bare scene', async () => {
    const { page } = studio;
    // The training output again: its project is offered, and viewing the scene alone says it closes the project.
    await openSceneByPath(page, capture);
    await page.getByTestId('choice-dialog').waitFor();
    expect(await page.getByTestId('choice-open').textContent()).toContain('project');
    expect(await page.getByTestId('choice-message').textContent()).toMatch(/closes the project “project”/);
    await page.getByTestId('choice-scene').click();
    await page.getByTestId('no-project').waitFor();
    await waitForSplatCount(page, GAUSSIANS, 60_000);

    await openSceneByPath(page, capture);
    await page.getByTestId('choice-open').click();
    await expect.poll(() => page.getByTestId('project-name').textContent(), { timeout: 60_000 }).toBe('project');

    // A bare scene while the project is open: asked, and kept when the answer is no.
    await openSceneByPath(page, small);
    await page.getByTestId('choice-dialog').waitFor();
    await page.getByTestId('choice-cancel').click();
    await page.getByTestId('choice-dialog').waitFor({ state: 'detached' });
    expect(await page.getByTestId('project-name').textContent()).toBe('project');
    expect(await page.getByTestId('scene-path').textContent()).toBe('point_cloud.ply');
  }, E2E_TIMEOUT_MS);

  it('a project without views says so and points to render-views', async () => {
    const { page } = studio;
    await page.getByTestId('new-project').click();
    await page.getByTestId('source-input').fill(small);
    await page.getByTestId('path-input').fill(join(work, 'no-views'));
    await page.getByTestId('path-submit').click();
    await expect.poll(() => page.getByTestId('project-name').textContent(), { timeout: 60_000 }).toBe('no-views');
    const note = page.getByTestId('no-views');
    await note.waitFor({ timeout: 30_000 });
    expect(await note.textContent()).toContain('saga-studio render-views');
    expect(await page.getByTestId('prepare-button').count()).toBe(0);
    expect(await page.getByTestId('prepare-state').count()).toBe(0);
  }, E2E_TIMEOUT_MS);
});
