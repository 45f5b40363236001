/**
 * `npm run bench -- train [--quick] [--step-only]`: feature training speed and memory.
 *
 *  1. One full iteration at 300k Gaussians, views 200x150 (render the 32-channel feature map from
 *     the cached lists, both losses, MLP forward and backward, feature backward, both Adams): the
 *     median over 100-ms windows of a 300-iteration run after warm-up, with each phase.
 *     Target: at most 40 ms.
 *  2. 10,000 iterations on a 300k-Gaussian, 100-view scene from a fresh start, end to end
 *     (preparing every view's lists, checkpoints every 500 iterations). Target: at most 10 minutes.
 *  3. Peak memory (RSS of the whole process, engine worker and its threads included) training 1M
 *     Gaussians on 200 views, where the views' lists do not all fit the budget and views are
 *     prepared again when they come round. Target: at most 4 GB.
 *
 * The scenes are random blobs of Gaussians (as the raster bench's) and each view's masks are nested
 * random regions (about 60 masks a view, like SAM's automatic masks) with random image features:
 * realistic sizes for timing, no meaning for quality (`npm run eval` measures quality).
 * `--quick` runs 1 and a 1,000-iteration version of 2 only; `--step-only` 1 only; `--memory-only` 3 only.
 * Part 3 runs in a process of its own, so its peak is training's alone.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mulberry32 } from '../main/common/random.ts';
import { encodeFloat16, maskGridSize, packMask, viewDir, viewKey, writePreparedView, type MaskInfo } from '../main/engine/masks/storage.ts';
import { orbitCameras } from '../main/engine/raster/orbit.ts';
import { syntheticScene } from '../main/engine/raster/test-scenes.ts';
import { TRAIN_DEFAULTS, type TrainProgress } from '../main/engine/train/trainer.ts';
import { EngineClient } from '../main/host/engine-client.ts';
import { runProjectTraining } from '../main/host/training-run.ts';
import { sha256File } from '../main/project/checksum.ts';
import { createProject } from '../main/project/store.ts';
import { sceneBounds, type GaussianScene } from '../main/scene/gaussians.ts';
import { writeScene } from '../main/scene/io.ts';
import { statSync } from 'node:fs';
import { median, MB, withPeakRss } from './util.ts';

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const f1 = (v: number) => v.toFixed(1);

/** Nested random regions on the mask grid: 3 levels of Voronoi cells (8, 20, 40 seeds). */
function randomMasks(w: number, h: number, r: Mulberry32): Uint8Array[] {
  const masks: Uint8Array[] = [];
  for (const seeds of [8, 20, 40]) {
    const sx = Array.from({ length: seeds }, () => r.next() * w);
    const sy = Array.from({ length: seeds }, () => r.next() * h);
    const label = new Uint16Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let best = 0;
        let bestD = Infinity;
        for (let s = 0; s < seeds; s++) {
          const d = (x - sx[s]!) ** 2 + (y - sy[s]!) ** 2;
          if (d < bestD) {
            bestD = d;
            best = s;
          }
        }
        label[y * w + x] = best;
      }
    }
    for (let s = 0; s < seeds; s++) {
      const m = new Uint8Array(w * h);
      let area = 0;
      for (let p = 0; p < m.length; p++) if (label[p] === s) { m[p] = 1; area++; }
      if (area > 0) masks.push(m);
    }
  }
  return masks;
}

/** A project of `count` random Gaussians with `views` orbit views, every view prepared (masks and features). */
async function benchProject(root: string, count: number, views: number, width: number, height: number): Promise<{ dir: string; scene: GaussianScene }> {
  const scene = syntheticScene(count, 3, 0);
  const scenePath = join(root, `scene-${count}.ply`);
  await writeScene(scene, scenePath);
  const cameras = orbitCameras(scene, views, { width, height }).map((c, i) => ({ ...c, name: `view-${String(i).padStart(3, '0')}` }));
  const dir = join(root, `project-${count}-${views}`);
  const project = createProject(dir, {
    source: {
      scenePath, format: 'ply', count, shDegree: 0, bytes: statSync(scenePath).size, checksum: await sha256File(scenePath),
      bounds: sceneBounds(scene), properties: [], views: cameras,
    },
  });
  const r = new Mulberry32(11);
  const grid = maskGridSize(width, height);
  for (const v of project.views()) {
    const masks = randomMasks(grid.width, grid.height, r);
    const infos: MaskInfo[] = masks.map((m) => ({ area: m.reduce((a, b) => a + b, 0), level: 0, box: [0, 0, grid.width - 1, grid.height - 1] }));
    const features = encodeFloat16(Float32Array.from({ length: 256 * 64 * 64 }, () => r.normal() * 0.3));
    const frame = { size: 1024, width: 1024, height: Math.round((1024 * height) / width) };
    mkdirSync(viewDir(project.cacheDir, viewKey(v.id, v.name)), { recursive: true });
    writePreparedView(viewDir(project.cacheDir, viewKey(v.id, v.name)), {
      view: v.name, source: 'imported', sourceDetail: 'bench', inputKey: `bench-${v.id}`, image: { path: '', width, height },
      maskWidth: grid.width, maskHeight: grid.height, masks: infos,
      features: { file: 'features.f16', channels: 256, height: 64, width: 64, dtype: 'float16', kind: 'classical', frame }, elapsedMs: 0,
    }, masks.map((m) => packMask(m)), features);
  }
  project.close();
  return { dir, scene };
}

async function trainOnce(dir: string, scene: GaussianScene, iterations: number, onProgress?: (p: TrainProgress) => void, listBudgetBytes?: number) {
  const { openProject } = await import('../main/project/store.ts');
  const engine = await EngineClient.start();
  const project = openProject(dir);
  try {
    await engine.loadScene(scene);
    const t = performance.now();
    const summary = await runProjectTraining(
      { project, engine, count: scene.count, ...(onProgress ? { onProgress } : {}) },
      { iterations, restart: true, seed: 1, ...(listBudgetBytes ? { tuning: { listBudgetBytes } } : {}) },
    );
    return { ms: performance.now() - t, summary, training: engine.training };
  } finally {
    project.close();
    await engine.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const stepOnly = args.includes('--step-only');
  const memoryOnly = args.includes('--memory-only');
  const root = mkdtempSync(join(tmpdir(), 'saga-bench-train-'));
  try {
    console.log(`load average at start: ${load()}`);
    if (!memoryOnly) {
      await speed(root, quick, stepOnly);
      if (quick || stepOnly) return;
      // Part 3 in a process of its own: what parts 1 and 2 leave on the heap (about 0.5 GB) is not
      // training's memory.
      const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'run.ts'), 'train', '--memory-only'], { stdio: 'inherit' });
      if (child.status !== 0) throw new Error(`The memory part of the train bench failed (exit ${child.status}).`);
      return;
    }

    // 3. Peak memory, 1M Gaussians and 200 views.
    const p1m = await benchProject(root, 1_000_000, 200, 200, 150);
    const before = process.memoryUsage.rss();
    const mem = await withPeakRss(() => trainOnce(p1m.dir, p1m.scene, 600), 20);
    console.log(`TARGET peak memory training 1M Gaussians on 200 views (600 iterations over ${mem.result.summary.views} views, lists held within the ${f1(TRAIN_DEFAULTS.listBudgetBytes / MB)} MB budget): ` +
      `${f1(mem.peakRss / MB)} MB RSS (target <= 4096), ${f1(before / MB)} MB before; ${f1(mem.result.ms / 600)} ms per iteration; load ${load()}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Parts 1 and 2: one iteration's time, and 10k (or 1k) iterations end to end. */
async function speed(root: string, quick: boolean, stepOnly: boolean): Promise<void> {
  {
    const p300 = await benchProject(root, 300_000, 100, 200, 150);

    // 1. One iteration at 300k.
    const windows: number[] = [];
    const phases: Record<string, number[]> = {};
    let lastIteration = 0;
    const step = await trainOnce(p300.dir, p300.scene, 400, (p) => {
      if (p.stage !== 'train' || p.iteration <= 100 || !p.iterationsPerSecond || !p.phases) return;
      const n = p.iteration - lastIteration;
      lastIteration = p.iteration;
      if (n <= 0) return;
      const ms = Object.values(p.phases).reduce((a, b) => a + b, 0);
      windows.push(ms);
      for (const [k, v] of Object.entries(p.phases)) (phases[k] ??= []).push(v);
    });
    console.log(`training step on: ${step.training === 'wasm' ? 'WebAssembly SIMD (CPU adapter)' : 'WGSL'}; onnxruntime for the losses`);
    console.log(`TARGET one iteration, 300k Gaussians, 200x150, both losses, MLP and both Adams: median ${f1(median(windows))} ms (target <= 40) ` +
      `[${Object.entries(phases).map(([k, v]) => `${k} ${f1(median(v))}`).join(', ')}]; load ${load()}`);
    if (stepOnly) return;

    // 2. 10k iterations end to end (1k with --quick).
    const iterations = quick ? 1000 : 10_000;
    const full = await trainOnce(p300.dir, p300.scene, iterations);
    console.log(`TARGET ${iterations} iterations, 300k Gaussians, 100 views, from a fresh start: ${f1(full.ms / 60000)} min ` +
      `(${f1(full.ms / iterations)} ms per iteration, views prepared and checkpoints included; target <= 10 min for 10,000); load ${load()}`);
  }
}
