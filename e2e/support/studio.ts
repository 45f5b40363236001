/**
 * Drives the editor in browser mode for the e2e tests and the ttff benchmark: the real
 * browser-mode host (startServer) on a free port with a throwaway user-data folder, and headless
 * Chromium on its URL. Actions go through the UI (buttons, the path prompt), as a person would.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { RegistryModel } from '../../main/engine/masks/models.ts';
import { startServer, type RunningServer } from '../../main/host/server/server.ts';
import { PROJECT_ROOT } from '../fixtures.ts';
import { launchBrowser, type BrowserSession } from './browser.ts';

export const RENDERER_DIR = join(PROJECT_ROOT, 'out/renderer');

/** The colour behind the splats (renderer/src/app.css --viewport-bg). */
export const VIEWPORT_BACKGROUND: readonly [number, number, number] = [0x10, 0x12, 0x16];

export interface StudioSession {
  server: RunningServer;
  browser: BrowserSession;
  page: Page;
  /** Messages the page logged as errors (kept for failure reports). */
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * `open`: a scene, capture folder or project the host tells the page to open on load (serve --open).
 * `modelRegistry`: SAM models the host offers (a test serves their files itself); models then go
 * to a folder of the throwaway user data.
 */
export async function openStudio(options: { open?: string; modelRegistry?: RegistryModel[] } = {}): Promise<StudioSession> {
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) {
    throw new Error(`No built renderer in ${RENDERER_DIR}: run \`npm run build\` first (npm test does).`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'saga-e2e-user-'));
  const server = await startServer({
    port: 0,
    rendererDir: RENDERER_DIR,
    userDataDir,
    ...(options.open ? { open: options.open } : {}),
    ...(options.modelRegistry ? { modelRegistry: options.modelRegistry, modelsDir: join(userDataDir, 'models') } : {}),
  });
  const browser = await launchBrowser();
  const { page } = browser;
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.goto(server.url);
  // Connected once the status bar names the host.
  await page.getByText(/browser · v/).waitFor({ timeout: 30_000 });
  return {
    server,
    browser,
    page,
    pageErrors,
    async close() {
      await browser.close();
      await server.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

async function submitPath(page: Page, opener: string, path: string): Promise<void> {
  await page.getByTestId(opener).click();
  await page.getByTestId('path-input').fill(path);
  await page.getByTestId('path-submit').click();
}

/** Opens a scene through Open Scene… and the path prompt. */
export async function openSceneByPath(page: Page, path: string): Promise<void> {
  await submitPath(page, 'open-scene', path);
}

export async function openProjectByPath(page: Page, dir: string): Promise<void> {
  await submitPath(page, 'open-project', dir);
}

/** New Project from… with the given source (the prompt pre-fills the open scene). */
export async function createProjectByPath(page: Page, dir: string, source?: string): Promise<void> {
  await page.getByTestId('new-project').click();
  if (source !== undefined) await page.getByTestId('source-input').fill(source);
  await page.getByTestId('path-input').fill(dir);
  await page.getByTestId('path-submit').click();
}

/** Waits until the status bar shows `count` splats loaded and drawn. */
export async function waitForSplatCount(page: Page, count: number, timeoutMs = 90_000): Promise<void> {
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="splat-count"]')?.textContent === String(n),
    count,
    { timeout: timeoutMs, polling: 100 },
  );
}

/**
 * The page's own measures of the last open: request to first frame with every splat (ttff),
 * request to the backend's answer (backend), to every splat in the viewer (loaded), and to the
 * start pose chosen (framed: robust bounds computed).
 */
export async function lastOpenTimings(page: Page): Promise<{ ttff?: number; backend?: number; loaded?: number; framed?: number }> {
  // No named helper functions inside: the test transpiler would wrap them in a helper the page lacks.
  return page.evaluate(() => {
    const open = performance.getEntriesByName('saga:open-request').at(-1)?.startTime;
    const [loaded, framed] = ['saga:splats-loaded', 'saga:framed'].map((mark) => performance.getEntriesByName(mark).at(-1)?.startTime);
    return {
      ttff: performance.getEntriesByName('saga:ttff').at(-1)?.duration,
      backend: performance.getEntriesByName('saga:open-backend').at(-1)?.duration,
      loaded: open !== undefined && loaded !== undefined ? loaded - open : undefined,
      framed: open !== undefined && framed !== undefined ? framed - open : undefined,
    };
  });
}

/** Frames the viewport has drawn so far. */
export async function framesDrawn(page: Page): Promise<number> {
  return Number(await page.getByTestId('frame-time').getAttribute('data-frames'));
}

/**
 * Runs `action` and waits until the viewport has drawn `frames` more frames, so a screenshot shows
 * its result (llvmpipe draws a few frames a second; fixed sleeps are flaky under load). The viewport
 * draws only when something changed, so ask for no more frames than the action causes.
 */
export async function afterFrames(page: Page, action: () => Promise<void>, frames = 1, timeoutMs = 30_000): Promise<void> {
  const before = await framesDrawn(page);
  await action();
  await page.waitForFunction(
    ({ n }) => Number(document.querySelector('[data-testid="frame-time"]')?.getAttribute('data-frames')) >= n,
    { n: before + frames },
    { timeout: timeoutMs, polling: 50 },
  );
}
