/**
 * Headless Debian Chromium for the end-to-end tests and the ttff benchmark, with the flags that
 * give it working WebGL on Mesa llvmpipe here (DESIGN.md). Never downloads a browser.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env['SAGA_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--enable-unsafe-webgpu',
  // Mesa llvmpipe through ANGLE/EGL: 4 to 7 times faster than the SwiftShader default.
  '--use-angle=gl-egl',
  '--ignore-gpu-blocklist',
];

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** A fresh profile in a temp dir (removed on close), one page of the given size. */
export async function launchBrowser(viewport = { width: 1100, height: 760 }): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}. Run e2e/system-deps.sh (as root) or set SAGA_CHROMIUM.`);
  }
  const profile = mkdtempSync(join(tmpdir(), 'saga-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export type { Browser, Page };
