/**
 * The editor end to end in browser mode: the real host (startServer), the built renderer, headless
 * Debian Chromium with WebGL on Mesa llvmpipe, and the shared guitar scene.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { WebSocket } from 'ws';
import { browserModeSocketUrl } from '../main/contract/transports/websocket.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, SCENES, sharedScene } from './fixtures.ts';
import { shareDifferentFrom } from './support/pixels.ts';
import {
  createProjectByPath,
  openProjectByPath,
  openSceneByPath,
  openStudio,
  VIEWPORT_BACKGROUND,
  waitForSplatCount,
  type StudioSession,
} from './support/studio.ts';

const GUITAR_SPLATS = 90854;

/** Generous: under `npm test` these share two cores with every other suite. */
const E2E_TIMEOUT_MS = 240_000;

describe('SAGA Studio in the browser', () => {
  let studio: StudioSession;
  let work: string;
  const guitar = sharedScene(SCENES.guitar);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'saga-e2e-'));
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('opens the guitar scene: 90854 splats, and the viewport shows it', async () => {
    const { page } = studio;
    await openSceneByPath(page, guitar);
    await waitForSplatCount(page, GUITAR_SPLATS);
    await expect.poll(() => page.getByTestId('scene-path').textContent()).toBe(SCENES.guitar);

    // Screenshot a still frame: pause the render loop first (llvmpipe draws ~6 frames a second).
    await page.getByTestId('render-toggle').click();
    const png = await page.getByTestId('viewport').screenshot();
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'e2e-guitar-viewport.png'), png);
    const image = decode(png);
    const share = shareDifferentFrom({ width: image.width, height: image.height, data: image.data as Uint8Array, channels: image.channels }, VIEWPORT_BACKGROUND, 0.4);
    // The guitar is a thin subject: framed upright it covers about a quarter of the centre box
    // (0.235 measured here), an empty or black canvas none of it.
    expect(share).toBeGreaterThan(0.15);
    await page.getByTestId('render-toggle').click();
  }, E2E_TIMEOUT_MS);

  it('creates a project from the scene, closes it, and reopens it', async () => {
    const { page } = studio;
    const dir = join(work, 'guitar-project');
    await createProjectByPath(page, dir);
    await expect.poll(() => page.getByTestId('project-name').textContent(), { timeout: 60_000 }).toBeTruthy();
    const name = await page.getByTestId('project-name').textContent();
    await waitForSplatCount(page, GUITAR_SPLATS);

    await page.getByTestId('close-project').click();
    await page.getByTestId('no-project').waitFor();
    await waitForSplatCount(page, 0);

    await openProjectByPath(page, dir);
    await waitForSplatCount(page, GUITAR_SPLATS);
    expect(await page.getByTestId('project-name').textContent()).toBe(name);
    expect(await page.getByTestId('scene-path').textContent()).toBe(SCENES.guitar);
    // The recent list now names it, so the next session can reopen it in one click.
    expect(await page.getByTestId('recent-list').textContent()).toContain(name ?? '');
    expect(await page.getByTestId('error-banner').count()).toBe(0);

    // The source check runs as a job (progress in the status bar) and reports the file unchanged.
    await page.getByTestId('verify-source').click();
    await expect.poll(() => page.getByTestId('notice').textContent(), { timeout: 30_000 }).toContain('unchanged');
  }, E2E_TIMEOUT_MS);

  it('shows the error banner for a truncated file and keeps working', async () => {
    const { page } = studio;
    const truncated = join(work, 'truncated.ply');
    const bytes = readFileSync(guitar);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    // The project from the test before is open: opening a bare scene asks first.
    await openSceneByPath(page, truncated);
    await page.getByTestId('choice-open').click();
    const banner = page.getByTestId('error-banner');
    await banner.waitFor({ timeout: 30_000 });
    const message = (await banner.textContent()) ?? '';
    // A sentence a person can act on, not a stack trace.
    expect(message.length).toBeGreaterThan(20);
    expect(message).not.toMatch(/at .*\.js:\d+/);
    expect(await banner.getAttribute('data-code')).not.toBe('INTERNAL');

    // The app is still alive: the good file opens, and the banner goes.
    // A copy under another name, so the panel shows when the new open has replaced the old scene.
    const copy = join(work, 'guitar-copy.ply');
    copyFileSync(guitar, copy);
    // The failed open left the project open (nothing is closed for a file that cannot be read).
    expect(await page.getByTestId('project-name').count()).toBe(1);
    await openSceneByPath(page, copy);
    await page.getByTestId('choice-open').click();
    await expect.poll(() => page.getByTestId('scene-path').textContent(), { timeout: 30_000 }).toBe('guitar-copy.ply');
    await waitForSplatCount(page, GUITAR_SPLATS);
    expect(await banner.count()).toBe(0);
  }, E2E_TIMEOUT_MS);

  it('opens a scene file dropped on the viewport (uploaded to the host)', async () => {
    const { page } = studio;
    const bytes = readFileSync(sharedScene(SCENES.compressedSh3));
    // A real drop: a DataTransfer holding a File, dispatched on the viewport like a person's drag.
    await page.evaluate(
      ({ b64, name }) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([data], name));
        const target = document.querySelector('[data-testid="viewport"]')!.parentElement!;
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      },
      { b64: bytes.toString('base64'), name: SCENES.compressedSh3 },
    );
    await expect.poll(() => page.getByTestId('scene-path').textContent(), { timeout: 30_000 }).toBe(SCENES.compressedSh3);
    await waitForSplatCount(page, 64);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
  }, E2E_TIMEOUT_MS);

  it('refuses API calls and page loads without the token, and sets no cookie', async () => {
    const { origin, token, url } = studio.server;
    expect((await fetch(`${origin}/`)).status).toBe(401);
    expect((await fetch(`${origin}/wrong-${token}/`)).status).toBe(403);
    // The token rides in the path only: the browser holds no cookie another local page could be sent.
    expect(await studio.page.context().cookies()).toEqual([]);
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${origin.replace('http', 'ws')}/rpc`);
      ws.on('open', () => {
        ws.close();
        resolve('opened');
      });
      ws.on('unexpected-response', (_req, res) => resolve(`refused ${res.statusCode}`));
      ws.on('error', () => resolve('refused'));
    });
    expect(refused).toMatch(/^refused/);
    // With the token the same call is answered: the refusal was about the token, not the server.
    const answered = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(browserModeSocketUrl(url), { headers: { Origin: origin } });
      ws.on('open', () => ws.send(JSON.stringify({ type: 'request', id: 1, method: 'app.info', params: {} })));
      ws.on('message', (data) => {
        ws.close();
        resolve(String(data));
      });
      ws.on('error', reject);
    });
    expect(JSON.parse(answered)).toMatchObject({ type: 'response', id: 1, ok: true, result: { host: 'browser' } });
  }, E2E_TIMEOUT_MS);

  // Last: it leaves this page without a working viewport.
  it('says so in the banner when the graphics context is lost', async () => {
    const { page } = studio;
    await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="viewport"]')!;
      canvas.getContext('webgl2')?.getExtension('WEBGL_lose_context')?.loseContext();
    });
    const banner = page.getByTestId('error-banner');
    await banner.waitFor({ timeout: 10_000 });
    expect(await banner.textContent()).toContain('Reload the window');
    expect(await banner.getAttribute('data-code')).toBe('GPU_ERROR');
  });
});
