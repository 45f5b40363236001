/**
 * `npm run bench -- prepare [--views N] [--runs R]`: views per minute of the `prepare` job with the
 * embedded default (classical masks + features) on 800x600 views, and the peak memory (RSS).
 * The views are the shared guitar scene rendered from 3 orbit cameras with the CPU reference
 * rasterizer (cached in the OS temp folder between runs), repeated to N views (default 12).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENES, sharedScene } from '../e2e/fixtures.ts';
import { prepareViews, type PrepareView } from '../main/engine/masks/prepare.ts';
import { renderViewImages } from '../main/engine/masks/testing/views.ts';
import { MB, median, withPeakRss } from './util.ts';

const WIDTH = 800;
const HEIGHT = 600;
const DISTINCT = 3;

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { views: { type: 'string' }, runs: { type: 'string' } } });
  const count = Number(values.views ?? 12);
  const runs = Number(values.runs ?? 3);
  const imagesDir = join(tmpdir(), `saga-bench-prepare-${WIDTH}x${HEIGHT}`);
  const names = Array.from({ length: DISTINCT }, (_, i) => join(imagesDir, `orbit-${i}.png`));
  if (!names.every((p) => existsSync(p))) {
    const t = performance.now();
    await renderViewImages(sharedScene(SCENES.guitar), imagesDir, DISTINCT, WIDTH, HEIGHT);
    console.log(`rendered ${DISTINCT} views of ${SCENES.guitar} at ${WIDTH}x${HEIGHT} in ${((performance.now() - t) / 1000).toFixed(1)} s (cached in ${imagesDir})`);
  }
  const views: PrepareView[] = Array.from({ length: count }, (_, i) => ({ id: i + 1, name: `view-${i}`, imagePath: names[i % DISTINCT]! }));
  const perMinute: number[] = [];
  const perView: number[] = [];
  const cpuPerView: number[] = [];
  let peak = 0;
  let masks = 0;
  for (let r = 0; r < runs; r++) {
    const cacheDir = mkdtempSync(join(tmpdir(), 'saga-bench-prepare-cache-'));
    try {
      const t = performance.now();
      const cpu0 = process.cpuUsage();
      const { result, peakRss } = await withPeakRss(() => prepareViews({ views, cacheDir }, { masks: { kind: 'auto' } }));
      const seconds = (performance.now() - t) / 1000;
      if (result.done !== count) throw new Error(`only ${result.done} of ${count} views prepared`);
      perMinute.push((count / seconds) * 60);
      perView.push((seconds * 1000) / count);
      const cpu = process.cpuUsage(cpu0);
      cpuPerView.push((cpu.user + cpu.system) / 1000 / count);
      peak = Math.max(peak, peakRss);
      masks = result.views.reduce((s, v) => s + (v.masks ?? 0), 0) / count;
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  }
  console.log(`prepare (embedded default: classical masks + features), ${count} views at ${WIDTH}x${HEIGHT}, ${runs} runs`);
  console.log(`  views per minute (median): ${median(perMinute).toFixed(1)}`);
  console.log(`  time per view (median):    ${median(perView).toFixed(0)} ms`);
  // CPU time is what the job costs when the machine is shared (wall time depends on the load).
  console.log(`  CPU time per view (median): ${median(cpuPerView).toFixed(0)} ms (load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores)`);
  console.log(`  masks per view:            ${masks.toFixed(1)}`);
  console.log(`  peak RSS:                  ${(peak / MB).toFixed(0)} MB`);
}
