/**
 * Developer harness only (not a test, not shipped): serves the built renderer with the isolation
 * headers and injects an in-memory window.saga stub, so the UI can be tried in headless Chromium
 * without the real backend. Usage: node --import tsx e2e/dev/stub-harness.ts <scene file>
 * Writes .artifacts/stub-harness.png.
 */
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, dirname, join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { contentTypeFor, rendererHeaders } from '../../main/app/security-headers.ts';
import { ARTIFACTS, PROJECT_ROOT } from '../fixtures.ts';
import { launchBrowser } from '../support/browser.ts';

const scenePath = resolve(process.argv[2] ?? '');
if (!existsSync(scenePath)) throw new Error(`usage: stub-harness.ts <scene file>`);
const rendererDir = join(PROJECT_ROOT, 'out/renderer');

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  const file = url.pathname.startsWith('/blob/') ? join(dirname(scenePath), basename(url.pathname)) : join(rendererDir, url.pathname === '/' ? 'index.html' : url.pathname);
  if (!existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, rendererHeaders(contentTypeFor(file)));
  createReadStream(file).pipe(res);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;

const session = await launchBrowser();
const { page } = session;
page.on('console', (m) => console.log(`[page] ${m.type()}: ${m.text()}`));
page.on('pageerror', (e) => console.log(`[page error] ${e.stack ?? e.message}`));
await page.addInitScript(`
  window.saga = {
    async call(method, params) {
      if (method === 'app.info') return { version: 'stub', host: 'memory' };
      if (method === 'project.recent') return [];
      if (method === 'scene.open') {
        const name = params.path.split('/').pop();
        return { summary: { path: params.path, format: 'ply', count: 0, shDegree: 0, bounds: { min: [0,0,0], max: [1,1,1] }, properties: [] }, url: '/blob/' + name, urlFormat: name.endsWith('.splat') ? 'splat' : 'ply' };
      }
      throw { code: 'BAD_ARGUMENT', message: 'stub has no ' + method };
    },
    onJobEvent() { return () => {}; },
  };
`);
const t0 = Date.now();
await page.goto(`http://127.0.0.1:${port}/`);
await page.getByTestId('open-scene').click();
await page.getByTestId('path-input').fill(scenePath);
await page.getByTestId('path-submit').click();
await page.waitForFunction(() => document.querySelector('[data-testid="splat-count"]')?.textContent !== '0', undefined, { timeout: 120_000 });
console.log('splat count', await page.getByTestId('splat-count').textContent(), 'after', Date.now() - t0, 'ms');
console.log('ttff', await page.evaluate(() => performance.getEntriesByName('saga:ttff').map((e) => e.duration)));
await page.getByTestId('render-toggle').click();
mkdirSync(ARTIFACTS, { recursive: true });
await page.screenshot({ path: join(ARTIFACTS, 'stub-harness.png') });
await session.close();
server.close();
