/**
 * `npm run bench -- soak [--gaussians N] [--prompts N] [--cycles N]`: a long session through the
 * real host (SagaBackend over the contract's RPC, real SQLite project, real scene file): 1,000
 * segment.prompt requests (clicks on objects from 24 cameras, alternating replace / add /
 * subtract; every fifth selection made a layer) and 200 undo/redo cycles (1 to 10 steps back and
 * forth, each followed by the viewport's edit.display fetch) on a 1M-Gaussian scene. Prints RSS at the start (project open,
 * first prompt answered) and at the end, its growth (target < 10%), and p50/p99 latency of each
 * request kind as the client sees it. RSS is read after a full GC when the runtime allows one.
 *
 * The scene is the generated tabletop at the asked size, written as a PLY and made a project; its
 * "trained" features (a unit vector per object, a smaller one per part, noise) are written as the
 * project's checkpoint, so segmentation reads them as it reads a real training run's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SelectionMode } from '../main/contract/api.ts';
import { Mulberry32 } from '../main/common/random.ts';
import { generateSynthScene } from '../main/engine/synth/generate.ts';
import { createRandom } from '../main/engine/synth/random.ts';
import { synthCameras } from '../main/engine/synth/views.ts';
import { writeCheckpoint } from '../main/project/checkpoints.ts';
import { resolveProjectSource } from '../main/project/source.ts';
import { createProject } from '../main/project/store.ts';
import { encodeScene } from '../main/scene/io.ts';
import { objectClicker, trainedLikeFeatures } from './synth-features.ts';
import { MB } from './util.ts';
import { memoryBackend } from '../main/host/testing/memory-backend.ts';

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The runtime's full GC, when it can be had without a command-line flag. */
function collector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export async function run(args: string[]): Promise<void> {
  const count = Number(option(args, '--gaussians') ?? 1_000_000);
  const prompts = Number(option(args, '--prompts') ?? 1000);
  const cycles = Number(option(args, '--cycles') ?? 200);
  const gc = collector();
  const rss = () => {
    gc?.();
    return process.memoryUsage.rss();
  };
  console.log(`load average at start: ${load()} (${gc ? 'RSS after a full GC' : 'no GC available: raw RSS'})`);

  const root = mkdtempSync(join(tmpdir(), 'saga-soak-'));
  try {
    const { scene, truth } = generateSynthScene({ seed: 5, gaussians: count, kind: 'tabletop' });
    const plyPath = join(root, 'scene.ply');
    writeFileSync(plyPath, encodeScene(scene, 'ply'));
    const resolved = await resolveProjectSource(plyPath, {});
    const projectDir = join(root, 'project');
    const project = createProject(projectDir, { source: resolved.source });
    project.close();
    const dim = 32;
    const r = new Mulberry32(3);
    const features = trainedLikeFeatures(truth, dim, r);
    await writeCheckpoint(projectDir, {
      format: 'saga-training-checkpoint', version: 1, iteration: 1, iterations: 1, count, dim, seed: 0, masksKey: 'soak', options: {}, createdAt: new Date().toISOString(),
    }, { features });
    const cameras = synthCameras(truth, { views: 24, width: 800, height: 600 }, createRandom(7));
    const click = objectClicker(scene, truth, cameras, r);

    const rssBefore = rss();
    const { backend, client } = memoryBackend(join(root, 'user'));
    try {
      await client.call('project.open', { dir: projectDir });
      const modes: SelectionMode[] = ['replace', 'add', 'subtract'];
      const prompt = async (i: number) => {
        const { camera, x, y } = click();
        return client.call('segment.prompt', { camera, prompt: { kind: 'points', points: [{ x, y, label: 1 }] }, mode: modes[i % modes.length]! });
      };
      // The first prompt builds the segmentation state (index, smoothed features, kernel): start after it.
      await prompt(0);
      const rssStart = rss();
      const tStart = performance.now();
      const segmentMs: number[] = [];
      const layerMs: number[] = [];
      let selectedSum = 0;
      for (let i = 0; i < prompts; i++) {
        const t0 = performance.now();
        const out = await prompt(i);
        segmentMs.push(performance.now() - t0);
        selectedSum += out.prompted;
        // Every fifth selection becomes a layer, as a user keeps what they found: history steps
        // for the undo/redo cycles below. The UI then fetches what changed for the viewport.
        if (i % 5 === 4 && out.selected > 0) {
          const t1 = performance.now();
          const made = await client.call('edit.newLayer', { name: `object ${i}` });
          await client.call('edit.display', { since: made.version - 1 });
          layerMs.push(performance.now() - t1);
        }
        if ((i + 1) % 250 === 0) console.log(`  ${i + 1} prompts: RSS ${(process.memoryUsage.rss() / MB).toFixed(0)} MB, segment p50 ${percentile(segmentMs, 50).toFixed(0)} ms p99 ${percentile(segmentMs, 99).toFixed(0)} ms, load ${load()}`);
      }
      const rssAfterPrompts = rss();
      // Each cycle undoes 1 to 10 steps and redoes them, fetching the viewport's changes after each.
      const undoMs: number[] = [];
      const redoMs: number[] = [];
      for (let i = 0; i < cycles; i++) {
        const depth = 1 + (i % 10);
        for (let d = 0; d < depth; d++) {
          const t0 = performance.now();
          const out = await client.call('edit.undo', {});
          await client.call('edit.display', { since: out.version - 1 });
          undoMs.push(performance.now() - t0);
        }
        for (let d = 0; d < depth; d++) {
          const t0 = performance.now();
          const out = await client.call('edit.redo', {});
          await client.call('edit.display', { since: out.version - 1 });
          redoMs.push(performance.now() - t0);
        }
      }
      const rssEnd = rss();
      const history = await client.call('edit.history', {});
      const growth = (rssEnd - rssStart) / rssStart;
      const f = (v: number) => v.toFixed(1);
      console.log(`${count} Gaussians; ${prompts} segment requests (mean prompted selection ${Math.round(selectedSum / prompts)}), ${cycles} undo/redo cycles; ${history.steps.length} history steps; ${((performance.now() - tStart) / 1000).toFixed(0)} s`);
      console.log(`RSS: before open ${(rssBefore / MB).toFixed(0)} MB; start (open, first prompt) ${(rssStart / MB).toFixed(0)} MB; after prompts ${(rssAfterPrompts / MB).toFixed(0)} MB; end ${(rssEnd / MB).toFixed(0)} MB`);
      console.log(`TARGET RSS growth start to end: ${(growth * 100).toFixed(1)}% (target < 10%)`);
      console.log(`segment.prompt latency: p50 ${f(percentile(segmentMs, 50))} ms, p99 ${f(percentile(segmentMs, 99))} ms, max ${f(Math.max(...segmentMs))} ms`);
      if (layerMs.length) console.log(`edit.newLayer + edit.display latency: p50 ${f(percentile(layerMs, 50))} ms, p99 ${f(percentile(layerMs, 99))} ms`);
      console.log(`edit.undo + edit.display latency: p50 ${f(percentile(undoMs, 50))} ms, p99 ${f(percentile(undoMs, 99))} ms; edit.redo + edit.display: p50 ${f(percentile(redoMs, 50))} ms, p99 ${f(percentile(redoMs, 99))} ms`);
      console.log(`load average at end: ${load()}`);
    } finally {
      client.close();
      backend.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
