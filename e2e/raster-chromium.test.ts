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
import { PROJECT_ROOT, SCENES, sharedScene } from './fixtures.ts';
import { launchBrowser, type BrowserSession } from './support/browser.ts';
import { orbitCamera } from '../main/engine/raster/orbit.ts';
import { backwardReference, renderReference } from '../main/engine/raster/reference.ts';
import { maxAbsDiff, readInriaPlyForTest } from '../main/engine/raster/test-scenes.ts';
import type { Camera } from '../main/scene/camera.ts';

/** What e2e/raster-host/page.ts exposes on the page's globalThis. */
interface RasterHost {
  init(): Promise<string>;
  loadScene(): Promise<number>;
  renderView(camera: Camera, width: number, height: number, featureDim: number, seed: number): Promise<Record<string, number[]>>;
}
type HostGlobal = { sagaRaster: RasterHost };

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
