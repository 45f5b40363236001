/**
 * Recolouring splats in the viewport without reloading the scene (Viewport.setSplatColors): what the
 * Features display mode does, and what per-splat edit state (hidden, selected, layer colours) will
 * do after every edit. Target: at most 50 ms for 1M splats. The app's viewport runs on a bare page
 * in headless Chromium (WebGL via ANGLE on Mesa llvmpipe, no GPU) with a generated scene.
 *
 *   npm run bench -- splat-colors [--count N] [--runs N]
 *
 * Prints medians of the call (packing the colours into the library's texture data and issuing the
 * uploads) and of the call plus the GPU finishing the upload, for every splat, a contiguous 10%, a
 * scattered 10% and 1,000 scattered splats.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../e2e/fixtures.ts';
import { launchBrowser } from '../e2e/support/browser.ts';
import { ISOLATION_HEADERS } from '../main/contract/security-headers.ts';
import { writeScene } from '../main/scene/io.ts';
import { generatedScene } from './ttff.bench.ts';
import { MB, median } from './util.ts';

interface Host {
  load(url: string): Promise<number>;
  measure(pattern: 'all' | 'range' | 'scattered', count: number, runs: number): { call: number[]; total: number[] };
}
type HostGlobal = { sagaSplatColors: Host };

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} needs a positive whole number`);
  return v;
}

export async function run(args: string[]): Promise<void> {
  const count = flag(args, '--count', 1_000_000);
  const runs = flag(args, '--runs', 9);
  const work = mkdtempSync(join(tmpdir(), 'saga-splat-colors-'));
  let server: Server | undefined;
  const browser = await launchBrowser({ width: 800, height: 600 });
  try {
    const scenePath = join(work, 'scene.ply');
    await writeScene(generatedScene(count), scenePath);
    console.log(`generated ${count} splats -> ${(statSync(scenePath).size / MB).toFixed(1)} MB`);
    const bundle = await build({ entryPoints: [join(PROJECT_ROOT, 'bench/splat-colors-host/page.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, target: 'es2022' });
    const routes: Record<string, [string, () => string | Uint8Array]> = {
      '/': ['text/html', () => '<!doctype html><meta charset="utf-8"><style>html,body,#host{margin:0;width:100%;height:100%}canvas{display:block;width:100%;height:100%}</style><div id="host"><canvas></canvas></div><script type="module" src="/page.js"></script>'],
      '/page.js': ['text/javascript', () => bundle.outputFiles[0]!.text],
      '/scene.ply': ['application/octet-stream', () => readFileSync(scenePath)],
    };
    server = createServer((req, res) => {
      const route = routes[req.url ?? '/'];
      if (!route) return void res.writeHead(404, ISOLATION_HEADERS).end();
      // Cross-origin isolation: the splat library needs SharedArrayBuffer.
      res.writeHead(200, { ...ISOLATION_HEADERS, 'content-type': route[0] }).end(route[1]());
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { page } = browser;
    await page.goto(`${base}/`);
    await page.waitForFunction(() => 'sagaSplatColors' in globalThis);
    const t0 = performance.now();
    const loaded = await page.evaluate((url) => (globalThis as unknown as HostGlobal).sagaSplatColors.load(url), `${base}/scene.ply`);
    console.log(`loaded ${loaded} splats in the viewport in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const tenth = Math.floor(loaded / 10);
    const cases = [
      { name: `every splat (${loaded})`, pattern: 'all', n: loaded },
      { name: `contiguous 10% (${tenth})`, pattern: 'range', n: tenth },
      { name: `scattered 10% (${tenth})`, pattern: 'scattered', n: tenth },
      { name: 'scattered 1,000', pattern: 'scattered', n: 1000 },
    ] as const;
    const rows: string[] = [];
    for (const c of cases) {
      const r = await page.evaluate(([p, n, k]) => (globalThis as unknown as HostGlobal).sagaSplatColors.measure(p, n, k), [c.pattern, c.n, runs] as const);
      rows.push(`setSplatColors ${c.name}: median ${median(r.total).toFixed(1)} ms with the GPU upload done (call ${median(r.call).toFixed(1)} ms); min ${Math.min(...r.total).toFixed(1)} max ${Math.max(...r.total).toFixed(1)} ms; ${runs} runs`);
      console.log(rows.at(-1));
    }
    const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0);
    console.log(`\nheadless Chromium, WebGL via ANGLE gl-egl on Mesa llvmpipe (no GPU); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; page JS heap ${(heap / MB).toFixed(0)} MiB`);
    for (const row of rows) console.log(row);
  } finally {
    await browser.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    rmSync(work, { recursive: true, force: true });
  }
}
