/**
 * The engine as the Electron engine window serves it (renderer/engine/engine-host.ts: serve-engine
 * on Chromium's navigator.gpu), driven from Node by the same EngineClient the backend uses, over
 * the contract RPC: it initialises, loads a real scene, renders, and runs the cached feature
 * forward and backward passes, matching the Dawn engine worker on the same requests; closing the
 * page is seen as the engine crashing (ENGINE_CRASHED), never as a hang.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransportBase, type Frame, type Transport } from '../main/contract/transport.ts';
import { orbitCamera } from '../main/engine/raster/orbit.ts';
import { maxAbsDiff, readInriaPlyForTest } from '../main/engine/raster/test-scenes.ts';
import { EngineClient } from '../main/host/engine-client.ts';
import { PROJECT_ROOT, SCENES, sharedScene } from './fixtures.ts';
import { launchBrowser, type BrowserSession, type Page } from './support/browser.ts';

type Wire = { text: string } | { base64: string };

/** The test's end of the page's port: frames go in with page.evaluate and come out through an exposed function. */
class PageTransport extends TransportBase implements Transport {
  private sending: Promise<unknown> = Promise.resolve();
  constructor(private readonly page: Page) {
    super();
  }
  async open(): Promise<void> {
    await this.page.exposeFunction('sagaEngineSend', (frame: Wire) => this.deliver('text' in frame ? frame.text : new Uint8Array(Buffer.from(frame.base64, 'base64'))));
  }
  send(frame: Frame): void {
    const wire: Wire = typeof frame === 'string' ? { text: frame } : { base64: Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64') };
    // In order, one after the other, as a port would deliver them.
    this.sending = this.sending.then(() => this.page.evaluate((f) => (globalThis as unknown as { sagaEngineDeliver(f: Wire): void }).sagaEngineDeliver(f), wire)).catch((e: unknown) => this.markClosed(`the engine page is gone: ${(e as Error).message.split('\n')[0]}`));
  }
  close(): void {
    this.markClosed('closed locally');
  }
  gone(reason: string): void {
    this.markClosed(reason);
  }
}

const scene = readInriaPlyForTest(sharedScene(SCENES.inria));
let server: Server;
let browser: BrowserSession;
let base = '';

beforeAll(async () => {
  const bundle = await build({ entryPoints: [join(PROJECT_ROOT, 'e2e/engine-host/page.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, target: 'es2022' });
  const js = bundle.outputFiles[0]!.text;
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    const shader = /^\/native-shaders\/([a-z0-9-]+\.wgsl)$/.exec(url);
    const respond: Promise<[string, string]> | undefined =
      url === '/' ? Promise.resolve(['text/html', '<!doctype html><meta charset="utf-8"><title>engine</title><script type="module" src="/page.js"></script>'])
        : url === '/page.js' ? Promise.resolve(['text/javascript', js])
          : shader ? readFile(join(PROJECT_ROOT, 'native-shaders', shader[1]!), 'utf8').then((t): [string, string] => ['text/plain', t])
            : undefined;
    if (!respond) return void res.writeHead(404).end();
    respond.then(([type, body]) => res.writeHead(200, { 'content-type': type }).end(body), (e: unknown) => res.writeHead(500).end(String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser({ width: 320, height: 240 });
});

afterAll(async () => {
  await browser?.close();
  server?.close();
});

async function pageEngine(): Promise<{ engine: EngineClient; transport: PageTransport; page: Page }> {
  const page = await browser.context.newPage();
  const transport = new PageTransport(page);
  await transport.open();
  page.once('close', () => transport.gone('the engine page closed'));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => (globalThis as unknown as { sagaEngineReady?: boolean }).sagaEngineReady === true);
  const engine = await EngineClient.connect(transport, () => page.close(), { sort: 'cpu', training: 'gpu' });
  return { engine, transport, page };
}

describe('engine window (serve-engine on Chromium WebGPU)', () => {
  it('answers the engine RPC like the Dawn worker: render and cached feature passes', async () => {
    const { engine } = await pageEngine();
    const dawn = await EngineClient.start({ sort: 'cpu', training: 'gpu' });
    try {
      expect(engine.adapter.length).toBeGreaterThan(0);
      for (const e of [engine, dawn]) {
        expect(await e.loadScene(scene)).toEqual({ count: scene.count });
      }
      const camera = orbitCamera(scene, 1, 8, { width: 160, height: 120 });
      const [a, b] = [await engine.render(camera), await dawn.render(camera)];
      expect(a.color.length).toBe(160 * 120 * 3);
      expect(maxAbsDiff(a.color, b.color)).toBeLessThanOrEqual(1e-4);
      expect(maxAbsDiff(a.alpha, b.alpha)).toBeLessThanOrEqual(1e-4);
      const features = Float32Array.from({ length: scene.count * 4 }, (_, i) => Math.sin(i * 0.37));
      for (const e of [engine, dawn]) await e.setFeatures(features, 4);
      const [va, vb] = [await engine.prepareView(camera), await dawn.prepareView(camera)];
      const [fa, fb] = [await engine.forwardFeatures(va.view), await dawn.forwardFeatures(vb.view)];
      expect(maxAbsDiff(fa, fb)).toBeLessThanOrEqual(1e-4);
      const grad = Float32Array.from({ length: fa.length }, (_, i) => Math.cos(i * 0.11));
      const [ga, gb] = [await engine.backwardFeatures(va.view, grad), await dawn.backwardFeatures(vb.view, grad)];
      const scale = Math.max(...gb.map(Math.abs));
      expect(maxAbsDiff(ga, gb) / scale).toBeLessThan(1e-3);
    } finally {
      await engine.close();
      await dawn.close();
    }
  }, 180_000);

  it('a closed engine page is a crash: the pending request ends with ENGINE_CRASHED', async () => {
    const { engine } = await pageEngine();
    let crashed: string | undefined;
    engine.onCrash((r) => (crashed = r));
    await engine.loadScene(scene);
    const pending = engine.render(orbitCamera(scene, 2, 8, { width: 160, height: 120 }));
    const failed = expect(pending).rejects.toMatchObject({ code: 'ENGINE_CRASHED' });
    await engine.kill();
    await failed;
    expect(crashed).toMatch(/stopped unexpectedly/);
    expect(engine.crashed).toBe(true);
  }, 120_000);
});
