/**
 * The evaluation harness: runs segmentation methods on a scene's prompts and scores each selection
 * against the ground truth. Takes everything in memory (scene, cameras, label maps, mask source), so
 * it serves the CLI (a folder on disk), the suite and tests alike.
 */
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { SagaError } from '../../contract/errors.ts';
import { gaussianIoU, maskScores, mean, selectionMasks } from './metrics.ts';
import { recordingRasterizer, referenceRasterizer, type BlendRasterizer } from './rasterizer.ts';
import type { EvalPrompt, ProgressCallback } from './types.ts';
import type { PromptInput, PromptKind, SegmentationContext, SegmentationMethod, SegmentFeatures, ViewMasks } from '../segment/types.ts';
import type { SpatialIndex } from '../post/spatial-index.ts';

export interface EvalData {
  /** A name for the tables (scene folder name). */
  name: string;
  scene: GaussianScene;
  cameras: Camera[];
  /** Ground-truth object id per Gaussian. */
  objectIds: Int32Array;
  /** Ground-truth object label map per view name, at the camera's size. */
  labels: Map<string, Uint16Array>;
  masks: ViewMasks;
  prompts: EvalPrompt[];
}

export interface EvalOptions {
  methods: SegmentationMethod[];
  /** Which form of each prompt to give the methods (default: points). */
  kinds?: PromptKind[];
  rasterizer?: BlendRasterizer;
  /** Trained features (unit, smoothed) by training variant, and the scene's spatial index, for SAGA methods. */
  trained?: Map<string, SegmentFeatures>;
  index?: SpatialIndex;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export interface PromptResult {
  promptId: string;
  targetId: number;
  targetName: string;
  view: string;
  iou3d: number;
  /** Mean IoU over held-out views where the target or the prediction shows; NaN when none does. */
  miou2d: number;
  macc2d: number;
  heldOutViews: number;
  selected: number;
  truth: number;
  /** Prompt to selection, with every view's blend already recorded. */
  latencyMs: number;
}

export interface MethodSummary {
  iou3d: number;
  miou2d: number;
  macc2d: number;
  latencyMs: number;
  prompts: number;
}

export interface MethodResult {
  method: string;
  description: string;
  kind: PromptKind;
  prompts: PromptResult[];
  mean: MethodSummary;
}

export interface EvalReport {
  scene: string;
  gaussians: number;
  views: number;
  /** Time to record every view's blend once, before any prompt (not part of per-prompt latency). */
  prepareMs: number;
  results: MethodResult[];
}

function promptInput(data: EvalData, prompt: EvalPrompt, kind: PromptKind): PromptInput {
  switch (kind) {
    case 'points':
      return { kind, view: prompt.view, points: prompt.points };
    case 'scribble':
      return { kind, view: prompt.view, points: prompt.scribble.map(([x, y]) => ({ x, y, label: 1 as const })) };
    case 'box':
      return { kind, view: prompt.view, box: prompt.box };
    case 'mask': {
      // The reference-view mask of SPIn-NeRF's protocol: here the clean label map of the prompt view.
      const labels = data.labels.get(prompt.view);
      const camera = data.cameras.find((c) => c.name === prompt.view);
      if (!labels || !camera) throw new SagaError('BAD_ARGUMENT', `No label map for the prompt view '${prompt.view}': a mask prompt needs labels/${prompt.view}.png.`);
      const mask = new Uint8Array(labels.length);
      for (let i = 0; i < labels.length; i++) if (labels[i] === prompt.targetId) mask[i] = 1;
      return { kind, view: prompt.view, mask: { width: camera.width, height: camera.height, data: mask } };
    }
  }
}

export function summarize(prompts: PromptResult[]): MethodSummary {
  const finite = (xs: number[]) => xs.filter((x) => Number.isFinite(x));
  return {
    iou3d: mean(prompts.map((p) => p.iou3d)),
    miou2d: mean(finite(prompts.map((p) => p.miou2d))),
    macc2d: mean(finite(prompts.map((p) => p.macc2d))),
    latencyMs: mean(prompts.map((p) => p.latencyMs)),
    prompts: prompts.length,
  };
}

/** Runs every method on every prompt (in each requested form) and scores the selections. */
export async function evaluate(data: EvalData, options: EvalOptions): Promise<EvalReport> {
  // Every view is revisited for each prompt and method: record each blend once, replay it after.
  const rasterizer = recordingRasterizer(options.rasterizer ?? referenceRasterizer);
  const kinds = options.kinds ?? ['points'];
  const { signal, onProgress } = options;
  if (data.objectIds.length !== data.scene.count) {
    throw new SagaError('BAD_ARGUMENT', `The ground truth has ${data.objectIds.length} object ids for ${data.scene.count} Gaussians. Regenerate the scene with 'saga-studio synth'.`);
  }
  for (const c of data.cameras) {
    const l = data.labels.get(c.name);
    if (l && l.length !== c.width * c.height) {
      throw new SagaError('SIZE_MISMATCH', `The label map of view '${c.name}' has ${l.length} pixels, but the camera is ${c.width}x${c.height}.`);
    }
  }
  const truthCount = new Map<number, number>();
  for (let i = 0; i < data.objectIds.length; i++) truthCount.set(data.objectIds[i]!, (truthCount.get(data.objectIds[i]!) ?? 0) + 1);
  // Record every view's blend up front (the app keeps its views' renders too), so that a prompt's
  // latency is the selection itself and does not depend on whether its view was seen before.
  const prepareStarted = performance.now();
  for (let v = 0; v < data.cameras.length; v++) {
    if (signal?.aborted) throw new SagaError('CANCELLED', 'The evaluation was cancelled.');
    rasterizer.forEachContribution(data.scene, data.cameras[v]!, () => undefined);
    onProgress?.({ stage: 'record views', done: v + 1, total: data.cameras.length });
    await new Promise<void>((r) => setImmediate(r));
  }
  const prepareMs = performance.now() - prepareStarted;
  const context: SegmentationContext = {
    scene: data.scene, cameras: data.cameras, rasterizer, masks: data.masks,
    ...(options.trained ? { trained: options.trained } : {}),
    ...(options.index ? { index: options.index } : {}),
  };
  // What a method makes once per scene (the app makes it once per project) is not a prompt's latency.
  for (const method of options.methods) await method.prepare?.(context);
  const results: MethodResult[] = [];
  const runs = options.methods.length * kinds.length;
  let run = 0;
  for (const method of options.methods) {
    for (const kind of kinds) {
      const selections: Uint8Array[] = [];
      const latencies: number[] = [];
      for (let p = 0; p < data.prompts.length; p++) {
        if (signal?.aborted) throw new SagaError('CANCELLED', 'The evaluation was cancelled.');
        const prompt = data.prompts[p]!;
        const input = promptInput(data, prompt, kind);
        const started = performance.now();
        const selection = await method.segment(context, input, signal);
        latencies.push(performance.now() - started);
        if (selection.length !== data.scene.count) {
          throw new SagaError('INTERNAL', `Method '${method.name}' returned ${selection.length} values for ${data.scene.count} Gaussians.`);
        }
        selections.push(selection);
        onProgress?.({ stage: `${method.name}/${kind}: segment`, done: p + 1, total: data.prompts.length });
        await new Promise<void>((r) => setImmediate(r));
      }
      // Held-out views: every view except the prompt's own; all prompts are scored in one pass per view.
      const ious: number[][] = data.prompts.map(() => []);
      const accs: number[][] = data.prompts.map(() => []);
      for (let v = 0; v < data.cameras.length; v++) {
        if (signal?.aborted) throw new SagaError('CANCELLED', 'The evaluation was cancelled.');
        const camera = data.cameras[v]!;
        const labels = data.labels.get(camera.name);
        if (!labels) continue;
        const active = data.prompts.map((p, i) => (p.view === camera.name ? -1 : i)).filter((i) => i >= 0);
        const masks = selectionMasks(data.scene, camera, active.map((i) => selections[i]!), rasterizer);
        active.forEach((i, k) => {
          const { iou, accuracy } = maskScores(masks[k]!, labels, data.prompts[i]!.targetId);
          if (iou === undefined) return; // neither the target nor the prediction shows in this view
          ious[i]!.push(iou);
          accs[i]!.push(accuracy);
        });
        onProgress?.({ stage: `${method.name}/${kind}: held-out views`, done: v + 1, total: data.cameras.length });
        await new Promise<void>((r) => setImmediate(r));
      }
      const prompts: PromptResult[] = data.prompts.map((prompt, i) => {
        const sel = selections[i]!;
        let selected = 0;
        for (let g = 0; g < sel.length; g++) if (sel[g]) selected++;
        return {
          promptId: prompt.id,
          targetId: prompt.targetId,
          targetName: prompt.targetName,
          view: prompt.view,
          iou3d: gaussianIoU(sel, data.objectIds, prompt.targetId),
          miou2d: mean(ious[i]!),
          macc2d: mean(accs[i]!),
          heldOutViews: ious[i]!.length,
          selected,
          truth: truthCount.get(prompt.targetId) ?? 0,
          latencyMs: latencies[i]!,
        };
      });
      results.push({ method: method.name, description: method.description, kind, prompts, mean: summarize(prompts) });
      run++;
      onProgress?.({ stage: 'methods', done: run, total: runs });
    }
  }
  return { scene: data.name, gaussians: data.scene.count, views: data.cameras.length, prepareMs, results };
}

/** A plain-text table with right-aligned numeric columns. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

export function pct(x: number): string {
  return Number.isFinite(x) ? (100 * x).toFixed(1) : '-';
}

/** The per-prompt table of one method on one scene, with the mean as its last row. */
export function formatMethodResult(r: MethodResult): string {
  const rows = r.prompts.map((p) => [p.promptId, p.view, pct(p.iou3d), pct(p.miou2d), pct(p.macc2d), String(p.heldOutViews), p.latencyMs.toFixed(0)]);
  rows.push(['mean', '', pct(r.mean.iou3d), pct(r.mean.miou2d), pct(r.mean.macc2d), '', r.mean.latencyMs.toFixed(0)]);
  return `${r.method} (${r.kind} prompts): ${r.description}\n` + formatTable(['prompt', 'view', '3D IoU %', '2D mIoU %', 'mAcc %', 'views', 'ms'], rows);
}
