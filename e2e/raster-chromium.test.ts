/**
 * The GPU-versus-reference test in the second host: headless Debian Chromium with its own WebGPU
 * (navigator.gpu). The engine code is bundled with esbuild, served with its WGSL files by a tiny
 * node:http server; the reference runs here in Node on the same real scene and cameras.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { ARTIFACTS, PROJECT_ROOT, SCENES, sharedScene } from './fixtures.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { orbitCamera } from '../main/engine/raster/orbit.ts';
import { backwardReference, renderReference } from '../main/engine/raster/reference.ts';
import { readInriaPlyForTest } from '../main/engine/raster/test-scenes.ts';
import type { Camera } from '../main/scene/camera.ts';
import { readScene, writeScene } from '../main/scene/io.ts';
import { EngineClient } from '../main/engine/client.ts';
import { decode, encode } from 'fast-png';
import { writePng } from '../main/engine/raster/images.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';

/** What e2e/raster-host/page.ts exposes on the page's globalThis. */
interface RasterHost {
  init(): Promise<string>;
  loadScene(): Promise<number>;
  renderView(camera: Camera, width: number, height: number, featureDim: number, seed: number): Promise<Record<string, number[]>>;
}
type HostGlobal = { sagaRaster: RasterHost };

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('GPU rasterizer in headless Chromium (navigator.gpu) vs the reference', () => {
  const scene = readInriaPlyForTest(sharedScene(SCENES.inria));
  let server: Server;
  let browser: BrowserSession;
  let base = '';

  beforeAll(async () => {
    const bundle = await build({
      entryPoints: [join(PROJECT_ROOT, 'e2e/raster-host/page.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      target: 'es2022',
    });
    const js = bundle.outputFiles[0]!.text;
    const packed = new Float32Array(
      scene.positions.length + scene.scales.length + scene.rotations.length + scene.opacities.length + scene.sh0.length + scene.shRest.length,
    );
    let o = 0;
    for (const field of [scene.positions, scene.scales, scene.rotations, scene.opacities, scene.sh0, scene.shRest]) {
      packed.set(field, o);
      o += field.length;
    }
    const routes: Record<string, () => Promise<[string, string | Uint8Array]>> = {
      '/': async () => ['text/html', '<!doctype html><meta charset="utf-8"><title>raster host</title><script type="module" src="/page.js"></script>'],
      '/page.js': async () => ['text/javascript', js],
      '/scene.json': async () => ['application/json', JSON.stringify({ count: scene.count, shDegree: scene.shDegree })],
      '/scene.bin': async () => ['application/octet-stream', new Uint8Array(packed.buffer)],
    };
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      const route = routes[url];
      const shader = /^\/native-shaders\/([a-z-]+\.wgsl)$/.exec(url);
      const respond = route
        ? route()
        : shader
          ? readFile(join(PROJECT_ROOT, 'native-shaders', shader[1]!), 'utf8').then((t): [string, string] => ['text/plain', t])
          : undefined;
      if (!respond) {
        res.writeHead(404).end();
        return;
      }
      respond.then(
        ([type, body]) => res.writeHead(200, { 'content-type': type }).end(body),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchBrowser({ width: 320, height: 240 });
    await browser.page.goto(`${base}/`);
    await browser.page.waitForFunction(() => 'sagaRaster' in globalThis);
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('matches colour, features and the feature backward from several views', async () => {
    const adapter = await browser.page.evaluate(() => (globalThis as unknown as HostGlobal).sagaRaster.init());
    expect(adapter.length).toBeGreaterThan(0);
    const count = await browser.page.evaluate(() => (globalThis as unknown as HostGlobal).sagaRaster.loadScene());
    expect(count).toBe(scene.count);
    const width = 48;
    const height = 36;
    const C = 8;
    for (const [i, seed] of [[0, 1], [5, 2]] as const) {
      const camera: Camera = orbitCamera(scene, i, 8, { width: 640, height: 480 });
      const gpu = await browser.page.evaluate(
        ([cam, w, h, c, s]) => (globalThis as unknown as HostGlobal).sagaRaster.renderView(cam, w, h, c, s),
        [camera, width, height, C, seed] as const,
      );
      const features = Float32Array.from(gpu.features!);
      const ref = renderReference(scene, camera, { width, height, features, featureDim: C });
      let covered = 0;
      for (const a of ref.alpha) if (a > 0.5) covered++;
      expect(covered).toBeGreaterThan(50);
      expect(maxAbsDiff(gpu.color!, ref.color)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(gpu.alpha!, ref.alpha)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(gpu.featureMap!, ref.features!)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(gpu.cachedFeatureMap!, ref.features!)).toBeLessThanOrEqual(1e-4);
      const refGrad = backwardReference(scene, camera, { width, height, featureDim: C }, Float32Array.from(gpu.grad!));
      let scale = 0;
      for (const v of refGrad) scale = Math.max(scale, Math.abs(v));
      expect(maxAbsDiff(gpu.backward!, refGrad) / scale).toBeLessThan(1e-3);
    }
  });
});

// Not passing yet: the library loads all 90,854 splats, draws 90,854 instances for 136 frames after
// splatRenderReady, yet every pixel of its canvas stays black (readPixels and screenshot agree), so
// the PSNR is that of our image against black (17.5 dB). Likely a camera/reveal setting of the
// library; the renderer's viewport (renderer/src/viewport/splats3d-viewport.ts) shows the guitar,
// so driving that viewport instead is the next step. Run with SAGA_CROSSCHECK=1 to try it.
describe.skipIf(!process.env.SAGA_CROSSCHECK)('independent cross-check: @mkkellogg/gaussian-splats-3d in Chromium vs our colour render', () => {
  it('agrees with our render of the guitar at PSNR >= 28 dB', async () => {
    const guitar = await readScene(sharedScene(SCENES.guitar));
    const dir = mkdtempSync(join(tmpdir(), 'saga-crosscheck-'));
    const ply = join(dir, 'guitar.ply');
    await writeScene(guitar, ply);
    const bundle = await build({
      entryPoints: [join(PROJECT_ROOT, 'e2e/raster-host/splats3d.ts')],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      target: 'es2022',
    });
    const js = bundle.outputFiles[0]!.text;
    const plyBytes = await readFile(ply);
    // Cross-origin isolation: the library needs SharedArrayBuffer for its sort worker.
    const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    const server = createServer((req, res) => {
      if (req.url === '/') res.writeHead(200, { ...headers, 'content-type': 'text/html' }).end('<!doctype html><meta charset="utf-8"><script type="module" src="/splats3d.js"></script>');
      else if (req.url === '/splats3d.js') res.writeHead(200, { ...headers, 'content-type': 'text/javascript' }).end(js);
      else if (req.url === '/guitar.ply') res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream' }).end(plyBytes);
      else res.writeHead(404, headers).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const width = 320;
    const height = 240;
    const camera = orbitCamera(guitar, 1, 8, { width, height });
    const session = await launchBrowser({ width, height });
    const client = await EngineClient.start();
    try {
      const pageErrors: string[] = [];
      session.page.on('pageerror', (e) => pageErrors.push(e.message));
      session.page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text());
      });
      await session.page.goto(`${url}/`);
      await session.page.waitForFunction(() => 'sagaSplats3d' in globalThis);
      const info = await session.page.evaluate(
        ([cam]) => (globalThis as unknown as { sagaSplats3d: { renderWith(u: string, c: Camera): Promise<string> } }).sagaSplats3d.renderWith('/guitar.ply', cam),
        [camera] as const,
      );
      console.log(`gaussian-splats-3d: ${info}`);
      const shot = decode(await session.page.locator('#view').screenshot());
      if (pageErrors.length) console.log(`page errors: ${pageErrors.join(' | ')}`);
      await client.loadScene(guitar);
      const ours = await client.render(camera, { shDegree: 0 });
      let se = 0;
      for (let p = 0; p < width * height; p++) {
        for (let c = 0; c < 3; c++) {
          const a = Math.min(1, Math.max(0, ours.color[p * 3 + c]!));
          const b = shot.data[p * shot.channels + c]! / 255;
          se += (a - b) ** 2;
        }
      }
      const psnr = 10 * Math.log10(1 / (se / (width * height * 3)));
      mkdirSync(ARTIFACTS, { recursive: true });
      await writePng(join(ARTIFACTS, 'crosscheck-ours.png'), ours.color, width, height);
      writeFileSync(join(ARTIFACTS, 'crosscheck-splats3d.png'), encode(shot));
      console.log(`cross-check PSNR (guitar, orbit 1/8, ${width}x${height}): ${psnr.toFixed(2)} dB`);
      expect(psnr).toBeGreaterThanOrEqual(28);
    } finally {
      await client.close();
      await session.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
