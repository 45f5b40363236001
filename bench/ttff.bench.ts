/**
 * Time to first frame in browser mode: from the open request (Open Scene… submitted) to the first
 * frame drawn with every splat loaded, for the guitar scene and a generated 1M-splat scene.
 * Uses the real browser-mode host and headless Chromium (WebGL on Mesa llvmpipe, no GPU).
 *
 *   npm run bench -- ttff [--runs N] [--big-runs N] [--big-count N]
 *
 * Prints, per scene, the median of the page's own measure (performance mark at the request to
 * the first-frame mark) and of the wall time seen from outside (click to the status bar showing
 * the count), and the backend's share (request to scene.open's answer).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScene, logit } from '../main/scene/gaussians.ts';
import { writeScene } from '../main/scene/io.ts';
import { SCENES, sharedScene } from '../e2e/fixtures.ts';
import { lastOpenTimings, openSceneByPath, openStudio, waitForSplatCount, type StudioSession } from '../e2e/support/studio.ts';
import { MB, median, withPeakRss } from './util.ts';
import { mulberry32 as prng } from '../main/common/random.ts';

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}


/** `count` small opaque Gaussians filling a sphere of radius 1, with varied colours. */
export function generatedScene(count: number) {
  const scene = createScene(count, 0);
  const rand = prng(1234);
  const logScale = Math.log(0.004);
  const opacity = logit(0.8);
  for (let i = 0; i < count; i++) {
    // Rejection-free point in the unit ball: random direction, radius ~ cbrt(u).
    const z = rand() * 2 - 1;
    const phi = rand() * Math.PI * 2;
    const r = Math.cbrt(rand());
    const s = Math.sqrt(1 - z * z);
    scene.positions[i * 3] = r * s * Math.cos(phi);
    scene.positions[i * 3 + 1] = r * s * Math.sin(phi);
    scene.positions[i * 3 + 2] = r * z;
    scene.scales.fill(logScale, i * 3, i * 3 + 3);
    scene.opacities[i] = opacity;
    scene.sh0[i * 3] = (rand() - 0.5) * 3;
    scene.sh0[i * 3 + 1] = (rand() - 0.5) * 3;
    scene.sh0[i * 3 + 2] = (rand() - 0.5) * 3;
  }
  return scene;
}

interface Measured {
  page: number[];
  wall: number[];
  backend: number[];
  /** Request to every splat parsed and uploaded in the viewer (before the first sort and draw). */
  loaded: number[];
  /** Request to the start pose chosen (robust bounds of the splats computed). */
  framed: number[];
  /** JS heap in use in the page after the load (Chromium's performance.memory), bytes. */
  pageHeap: number[];
}

async function measure(studio: StudioSession, path: string, count: number, runs: number): Promise<Measured> {
  const page: number[] = [];
  const wall: number[] = [];
  const backend: number[] = [];
  const loaded: number[] = [];
  const framed: number[] = [];
  const pageHeap: number[] = [];
  for (let run = 0; run < runs; run++) {
    // A fresh page each run: nothing of the previous scene stays in the viewer. (Navigating a page
    // that holds 1M splats away timed out here; a new tab does not wait for the old one.)
    const tab = await studio.browser.context.newPage();
    await tab.goto(studio.server.url);
    await tab.getByText(/browser · v/).waitFor({ timeout: 60_000 });
    const start = performance.now();
    await openSceneByPath(tab, path);
    await waitForSplatCount(tab, count, 600_000);
    wall.push(performance.now() - start);
    const t = await lastOpenTimings(tab);
    pageHeap.push(await tab.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0));
    await tab.close({ runBeforeUnload: false });
    if (t.ttff === undefined || t.backend === undefined || t.loaded === undefined || t.framed === undefined) throw new Error('The page did not record saga:ttff; is the renderer build current (npm run build)?');
    page.push(t.ttff);
    backend.push(t.backend);
    loaded.push(t.loaded);
    framed.push(t.framed);
    console.log(
      `  run ${run + 1}/${runs}: ${t.ttff.toFixed(0)} ms in page (backend answer at ${t.backend.toFixed(0)} ms, splats loaded at ${t.loaded.toFixed(0)} ms, framed at ${t.framed.toFixed(0)} ms), ${wall.at(-1)!.toFixed(0)} ms wall`,
    );
  }
  return { page, wall, backend, loaded, framed, pageHeap };
}

export async function run(args: string[]): Promise<void> {
  const runs = flag(args, '--runs', 5);
  const bigRuns = flag(args, '--big-runs', 3);
  const bigCount = flag(args, '--big-count', 1_000_000);
  const work = mkdtempSync(join(tmpdir(), 'saga-ttff-'));
  const studio = await openStudio();
  try {
    const bigPath = join(work, `generated-${bigCount}.ply`);
    const t0 = performance.now();
    await writeScene(generatedScene(bigCount), bigPath);
    console.log(`generated ${bigCount} splats -> ${(statSync(bigPath).size / MB).toFixed(1)} MB in ${(performance.now() - t0).toFixed(0)} ms`);

    const cases = [
      { name: 'guitar.compressed.ply', path: sharedScene(SCENES.guitar), count: 90854, runs },
      { name: `generated ${bigCount}`, path: bigPath, count: bigCount, runs: bigRuns },
    ];
    const rows: string[] = [];
    for (const c of cases) {
      console.log(`${c.name}: ${c.runs} runs`);
      // The host runs in this process: its peak RSS is the backend's memory for the open.
      const { result: r, peakRss } = await withPeakRss(() => measure(studio, c.path, c.count, c.runs));
      rows.push(
        `ttff ${c.name}: median ${median(r.page).toFixed(0)} ms (page measure; backend answered at ${median(r.backend).toFixed(0)} ms, ` +
          `splats loaded in the viewer at ${median(r.loaded).toFixed(0)} ms, start pose chosen at ${median(r.framed).toFixed(0)} ms, rest is first sort + draw), ` +
          `${median(r.wall).toFixed(0)} ms wall; min ${Math.min(...r.page).toFixed(0)} max ${Math.max(...r.page).toFixed(0)} ms; ${c.runs} runs; ` +
          `page JS heap ${(median(r.pageHeap) / MB).toFixed(0)} MiB, host peak RSS ${(peakRss / MB).toFixed(0)} MiB`,
      );
    }
    console.log('\nheadless Chromium, WebGL via ANGLE gl-egl on Mesa llvmpipe (no GPU), browser-mode host on 127.0.0.1');
    for (const row of rows) console.log(row);
    if (studio.pageErrors.length) console.log(`page errors: ${studio.pageErrors.slice(0, 3).join(' | ')}`);
  } finally {
    await studio.close();
    rmSync(work, { recursive: true, force: true });
  }
}
