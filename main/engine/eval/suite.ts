/**
 * The fixed evaluation suite behind `npm run eval`: a few generated scenes with fixed seeds, the
 * prompts made from their truth, every registered method, one table per method and prompt form.
 * Small settings, so the whole suite runs in CI on two CPU cores with the reference renderer.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAll, writeFileAtomic } from '../../common/atomic-write.ts';
import type { SynthKind } from '../synth/generate.ts';
import { writeSynthFolder } from '../synth/folder.ts';
import { evaluate, formatTable, pct, summarize, type EvalReport, type MethodSummary } from './evaluate.ts';
import { loadEvalFolder } from './folder.ts';
import { mean } from './metrics.ts';
import { methodsByName, TRAINED_METHODS } from './methods.ts';
import { featureProbe } from '../train/probe.ts';
import { smoothFeatures } from '../train/smoothing.ts';
import { buildSpatialIndex, type SpatialIndex } from '../post/spatial-index.ts';
import { normalizeRows } from '../segment/kmeans.ts';
import type { SegmentFeatures } from '../segment/types.ts';
import type { ProgressCallback } from './types.ts';
import type { PromptKind } from '../segment/types.ts';

export interface SuiteScene {
  name: string;
  kind: SynthKind;
  seed: number;
  gaussians: number;
  views: number;
  width: number;
  height: number;
  /** Feature training iterations per variant (CI-sized). */
  iterations: number;
}

/** The training variants the suite compares: full SAGA and the paper's two loss ablations. */
export const TRAIN_VARIANTS = ['full', 'no-corr', 'no-guidance'] as const;
export type TrainVariant = (typeof TRAIN_VARIANTS)[number];

export interface TrainedFeatures {
  variant: TrainVariant;
  features: Float32Array;
  dim: number;
  seconds: number;
}

/**
 * Trains a suite scene's features (the host wires project, prepare and engine: host/eval-training.ts).
 * Given the synth folder; returns the untrained start and each variant's trained features.
 */
export type SceneTrainer = (scene: SuiteScene, synthDir: string, signal?: AbortSignal) => Promise<{ untrained: Float32Array; dim: number; variants: TrainedFeatures[] }>;

export interface ProbeResult {
  untrained: number;
  /** `share`: of the features as segmentation uses them (smoothed); `raw`: as trained. */
  variants: { variant: TrainVariant; share: number; raw: number; seconds: number }[];
}

/** The CI suite. Changing a seed or a setting changes every number in bench/RESULTS.md: do it on purpose. */
export const CI_SUITE: SuiteScene[] = [
  { name: 'tabletop-11', kind: 'tabletop', seed: 11, gaussians: 16000, views: 10, width: 160, height: 120, iterations: 1500 },
  { name: 'shelf-12', kind: 'shelf', seed: 12, gaussians: 16000, views: 10, width: 160, height: 120, iterations: 1500 },
  { name: 'mixed-13', kind: 'mixed', seed: 13, gaussians: 16000, views: 10, width: 160, height: 120, iterations: 1500 },
];

/** A suite small enough for a unit test (seconds, not minutes). */
export const TINY_SUITE: SuiteScene[] = [
  { name: 'tabletop-tiny', kind: 'tabletop', seed: 5, gaussians: 4000, views: 4, width: 96, height: 72, iterations: 150 },
];

export interface SuiteOptions {
  scenes?: SuiteScene[];
  methods?: string[];
  kinds?: PromptKind[];
  /** Where the scene folders go; default a temporary folder removed afterwards. */
  workDir?: string;
  /** Trains each scene's features (full and ablations) and probes them; without it, no training. */
  train?: SceneTrainer;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export interface SuiteSceneResult {
  scene: SuiteScene;
  report: EvalReport;
  /** The feature probe (featureProbe in train/probe.ts) of untrained and trained features. */
  probe?: ProbeResult;
  oracleMeanIoU: number | undefined;
  synthSeconds: number;
  evalSeconds: number;
}

export interface SuiteReport {
  scenes: SuiteSceneResult[];
  seconds: number;
}

export async function runEvalSuite(options: SuiteOptions = {}): Promise<SuiteReport> {
  const scenes = options.scenes ?? CI_SUITE;
  // With training, every method: the baseline, SAGA and its ablations side by side.
  const methods = methodsByName(options.methods ?? (options.train ? ['single-view', ...TRAINED_METHODS] : ['single-view']));
  const kinds = options.kinds ?? ['points', 'scribble', 'box', 'mask'];
  const started = performance.now();
  const work = options.workDir ?? (await mkdtemp(join(tmpdir(), 'saga-eval-suite-')));
  const results: SuiteSceneResult[] = [];
  try {
    for (let i = 0; i < scenes.length; i++) {
      const s = scenes[i]!;
      const dir = join(work, s.name);
      const t0 = performance.now();
      const synth = await writeSynthFolder(dir, { ...s, force: true, signal: options.signal });
      const t1 = performance.now();
      const data = await loadEvalFolder(dir);
      let probe: ProbeResult | undefined;
      let trained: Map<string, SegmentFeatures> | undefined;
      let index: SpatialIndex | undefined;
      if (options.train) {
        const result = await options.train(s, dir, options.signal);
        // Features as segmentation uses them: smoothed over spatial neighbours (train/smoothing.ts).
        index = buildSpatialIndex(data.scene.positions);
        trained = new Map();
        const variants: ProbeResult['variants'] = [];
        for (const v of result.variants) {
          const smoothed = smoothFeatures(v.features, v.dim, index);
          trained.set(v.variant, { features: normalizeRows(smoothed, v.dim), dim: v.dim });
          variants.push({ variant: v.variant, raw: featureProbe(v.features, v.dim, data.objectIds).share, share: featureProbe(smoothed, v.dim, data.objectIds).share, seconds: v.seconds });
        }
        probe = { untrained: featureProbe(result.untrained, result.dim, data.objectIds).share, variants };
      }
      const t2 = performance.now();
      const report = await evaluate(data, { methods, kinds, signal: options.signal, ...(trained && index ? { trained, index } : {}) });
      const t3 = performance.now();
      results.push({ scene: s, report, ...(probe ? { probe } : {}), oracleMeanIoU: synth.oracleMeanIoU, synthSeconds: (t1 - t0) / 1000, evalSeconds: (t3 - t2) / 1000 });
      options.onProgress?.({ stage: 'scenes', done: i + 1, total: scenes.length });
    }
  } finally {
    if (!options.workDir) await rm(work, { recursive: true, force: true });
  }
  return { scenes: results, seconds: (performance.now() - started) / 1000 };
}

/** One table per (method, prompt form): a row per scene (means over its prompts) and the mean over scenes. */
export function suiteTables(report: SuiteReport, markdown = false): string {
  const first = report.scenes[0]?.report.results ?? [];
  const blocks: string[] = [];
  for (let r = 0; r < first.length; r++) {
    const { method, kind, description } = first[r]!;
    const rows: string[][] = [];
    const means: MethodSummary[] = [];
    for (const s of report.scenes) {
      const res = s.report.results[r]!;
      const m = summarize(res.prompts);
      means.push(m);
      rows.push([s.scene.name, String(m.prompts), pct(m.iou3d), pct(m.miou2d), pct(m.macc2d), m.latencyMs.toFixed(0)]);
    }
    rows.push([
      'mean',
      String(means.reduce((a, m) => a + m.prompts, 0)),
      pct(mean(means.map((m) => m.iou3d))),
      pct(mean(means.map((m) => m.miou2d))),
      pct(mean(means.map((m) => m.macc2d))),
      mean(means.map((m) => m.latencyMs)).toFixed(0),
    ]);
    const headers = ['scene', 'prompts', '3D IoU %', '2D mIoU %', '2D mAcc %', 'ms/prompt'];
    const title = `${method}, ${kind} prompts: ${description}`;
    blocks.push(markdown ? `### ${title}\n\n${markdownTable(headers, rows)}` : `${title}\n${formatTable(headers, rows)}`);
  }
  return blocks.join('\n');
}

/** The feature probe per scene: untrained features and each training variant, with training time. */
export function probeTable(report: SuiteReport, markdown = false): string {
  const withProbe = report.scenes.filter((s) => s.probe);
  if (withProbe.length === 0) return '';
  const headers = ['scene', 'iterations', 'untrained %', ...TRAIN_VARIANTS.map((v) => `${v} %`), 'full, unsmoothed %', 'train s (full)'];
  const rows = withProbe.map((s) => {
    const p = s.probe!;
    const share = (v: TrainVariant) => p.variants.find((x) => x.variant === v);
    return [s.scene.name, String(s.scene.iterations), pct(p.untrained), ...TRAIN_VARIANTS.map((v) => pct(share(v)?.share ?? NaN)), pct(share('full')?.raw ?? NaN), (share('full')?.seconds ?? NaN).toFixed(1)];
  });
  const meanOf = (f: (p: ProbeResult) => number) => pct(mean(withProbe.map((s) => f(s.probe!))));
  rows.push(['mean', '', meanOf((p) => p.untrained), ...TRAIN_VARIANTS.map((v) => meanOf((p) => p.variants.find((x) => x.variant === v)?.share ?? NaN)), meanOf((p) => p.variants.find((x) => x.variant === 'full')?.raw ?? NaN), '']);
  const title = 'Feature probe: share of Gaussians whose trained feature is closer (cosine) to the mean feature of their own object than to any other object\'s';
  return markdown ? `### ${title}\n\n${markdownTable(headers, rows)}` : `${title}\n${formatTable(headers, rows)}`;
}

function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n') + '\n';
}

/** bench/RESULTS.md: the tables, the settings that produced them, and how to read them. */
export function resultsMarkdown(report: SuiteReport): string {
  const settings = report.scenes
    .map((s) => `| ${s.scene.name} | ${s.scene.kind} | ${s.scene.seed} | ${s.report.gaussians} | ${s.scene.views} | ${s.scene.width}x${s.scene.height} | ${s.report.results[0]?.prompts.length ?? 0} | ${s.oracleMeanIoU !== undefined ? pct(s.oracleMeanIoU) : '-'} | ${s.synthSeconds.toFixed(1)} | ${(s.report.prepareMs / 1000).toFixed(1)} | ${s.evalSeconds.toFixed(1)} |`)
    .join('\n');
  return `# Segmentation quality on synthetic scenes

Written by \`npm run eval\` (\`saga-studio eval-suite\`); do not edit by hand. The whole suite took
${report.seconds.toFixed(0)} s on this machine (CPU reference renderer).

## Scenes

| scene | kind | seed | Gaussians | views | size | prompts | oracle mask IoU % | synth s | record s | eval s |
|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|
${settings}

## Feature training

${probeTable(report, true) || 'Not run (the suite was run without training).\n'}
## Segmentation results

${suiteTables(report, true)}
## How to read these tables

Each scene is generated by \`saga-studio synth\` with the seed shown, so every Gaussian's true
object is known. There is one prompt per visible object, made from the truth in the view where the
object is seen best, in four forms: a positive click deep inside it and a negative click on the
neighbour it touches most ("points"); a positive scribble along its main axis ("scribble"); its tight
box ("box"); the clean ground-truth mask of that view ("mask", the SPIn-NeRF protocol). Each row is
the mean over a scene's prompts; the last row is the mean over scenes.

- **3D IoU**: selected Gaussians against the Gaussians whose \`object_id\` is the target. This is
  what export and deletion act on. Selecting the floor under a table, or missing the back of a mug,
  costs here even when the prompt view looks right.
- **2D mIoU / mAcc**: in every held-out view (all views except the prompt's) the selection's mask
  (pixels where the selected Gaussians carry over half of the full scene's blend, so occlusion
  matches the label map) against the label map; IoU and pixel accuracy are averaged over the views
  where the target or the prediction shows, as NVOS and SPIn-NeRF report them. mAcc is high for
  any small object because most pixels are background: compare methods on mIoU.
- **ms/prompt**: wall time from prompt to selection on the CPU, with every view's blend recorded
  once beforehand (the "record s" column above; the app keeps its views' renders the same way).

**single-view** is the paper's baseline: it segments only the prompt view (points: for each positive
click, the largest automatic mask that contains it and no negative click; scribble: the smallest mask
holding every scribble point; box: the mask whose bounding box best matches) and lifts that 2D mask to
the Gaussians whose blending weight in that view lies mostly inside it. It sees nothing the prompt
view does not: occluded and back faces are missed, and Gaussians hidden behind the object are
picked up. The automatic masks come from the oracle (\`main/engine/synth/oracle-masks.ts\`), which
imitates SAM with ragged boundaries, misses and merges; "oracle mask IoU" above measures how far its
masks are from the truth. The "mask" rows remove 2D errors and show the cost of lifting alone.
Trained SAGA segmentation should beat single-view on 3D IoU and 2D mIoU in every prompt form.

**saga** is the app's segmentation with its defaults (\`main/engine/segment/saga.ts\`): queries are
the features rendered at the prompt's pixels (k-means over them for scribbles and masks; a box
becomes the automatic mask that best fills it), every Gaussian scores its highest cosine with a
query, and the threshold is a fixed 0.7 for clicks and scribbles and, for boxes and masks, the one
whose selection, rendered in the prompt view, covers the prompt's 2D mask best. Post-processing
follows: region growing from the seeds inside the mask (boxes, masks), hysteresis growth through
connected Gaussians scoring just below the threshold, ball-query growing, and the multi-view check,
which holds the selection to the automatic masks of the other training views
(\`main/engine/segment/view-check.ts\`). The check reads those views' automatic masks, never their
label maps, so the 2D mIoU below is scored in views whose (imperfect) masks it has seen, as training
has. **saga-no-post** leaves the post-processing out; **saga-no-views** leaves out only the
multi-view check; **saga-no-corr** and **saga-no-guidance** segment the same way on the features
trained without one of the two losses. No SAM model runs here, so SAM-based prompts are not in these tables.

**Feature probe.** Before any segmentation, the training itself is judged by the share of
Gaussians whose trained 32-dimensional feature is closer, by cosine, to the mean feature of its own
ground-truth object than to the mean feature of any other object. Random untrained features score
about one over the number of objects. Each scene's views are prepared with the oracle's masks
(imported, with the built-in image features for the guidance loss) and trained three times from the
same seed: with both losses (full), without the correspondence loss (no-corr) and without the
SAM-guidance loss (no-guidance), the paper's ablations. The variant columns score the features as
segmentation uses them: each Gaussian's unit feature averaged over its 16 nearest Gaussians, as the
official v2 code smooths them (Gaussians no view sees well would otherwise keep their random
start); the "unsmoothed" column scores the full variant's raw trained features.
`;
}

export async function writeResults(path: string, markdown: string): Promise<void> {
  const bytes = new TextEncoder().encode(markdown);
  await writeFileAtomic(path, (file) => writeAll(file, bytes));
}
