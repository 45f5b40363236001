/**
 * The `prepare` job: for every training view, multi-granularity 2D masks and image features, cached
 * in the project (see storage.ts for the layout). Views are streamed one at a time (one image, one
 * feature map and one view's masks in memory at most), a view is finished when its manifest is
 * written, and a rerun skips finished views whose inputs have not changed. A view that fails (a
 * corrupt image, missing imported masks) is reported and the others still run.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { JobProgress } from '../../contract/api.ts';
import { SagaError, toSagaError, type SagaErrorData } from '../../contract/errors.ts';
import { AMG_DEFAULTS, generateMasks, type AmgParams } from './amg.ts';
import { maskContactSheet } from './contact-sheet.ts';
import { classicalFeatures, FEATURE_CHANNELS, FEATURE_GRID } from './classical-features.ts';
import { hierarchyMasks, HIERARCHY_DEFAULTS, segmentHierarchy, type HierarchyParams } from './felzenszwalb.ts';
import { decodeImage, longestSideShape, resizeChannels, type RgbImage } from './image.ts';
import { readImportedMasks } from './imported.ts';
import { SAM_INPUT_SIZE, SamPredictor, type SamModelFiles } from './sam.ts';
import { FEATURES_FILE,
  downsampleMask,
  encodeFloat16,
  maskBox,
  maskGridSize,
  packMask,
  readManifest,
  readPreparedMasks,
  unpackMask,
  viewDir,
  viewKey,
  writePreparedView,
  type MaskInfo,
  type MaskSource,
  type ViewManifest,
} from './storage.ts';

export interface PrepareView {
  /** Stable id (the project's view id); names the cache folder with the name. */
  id: number;
  name: string;
  imagePath?: string;
}

export interface PrepareInput {
  views: PrepareView[];
  cacheDir: string;
}

export type MaskSourceOption =
  | { kind: 'auto'; hierarchy?: HierarchyParams }
  | { kind: 'sam'; model: SamModelFiles; amg?: Partial<AmgParams>; threads?: number }
  | { kind: 'imported'; folder: string };

export interface PrepareProgress extends JobProgress {
  stage: 'prepare';
  /** The view this event is about (1-based position `done` when finished). */
  view?: string;
  event: 'start' | 'view-done' | 'view-skipped' | 'view-failed';
  error?: SagaErrorData;
}

export interface PrepareOptions {
  masks: MaskSourceOption;
  signal?: AbortSignal;
  onProgress?: (p: PrepareProgress) => void;
  /** Recompute every view even when a finished manifest matches. */
  force?: boolean;
}

export interface PreparedViewResult {
  id: number;
  name: string;
  key: string;
  status: 'done' | 'skipped' | 'failed';
  masks?: number;
  levels?: number;
  error?: SagaErrorData;
}

export interface PrepareResult {
  source: MaskSource;
  sourceDetail: string;
  /** Set when the masks come from the classical default: what to install for SAGA-quality masks. */
  recommendation?: string;
  views: PreparedViewResult[];
  done: number;
  skipped: number;
  failed: number;
  elapsedMs: number;
}

export const AUTO_SOURCE_DETAIL = 'felzenszwalb-hierarchy-v1';
/**
 * Said after the built-in masks, in the app and the CLI alike: each adds how to install a model
 * there (the app's Download button, the CLI's --download), so this names no command.
 */
export const AUTO_RECOMMENDATION =
  'Masks come from the built-in classical segmentation (no SAM model). For SAGA-quality masks, install a SAM model and prepare again with it.';

/** Minimum auto-mask area: 0.25% of the mask grid (100 pixels of a 200 x 200 grid, SAGA v2's min area). */
const AUTO_MIN_AREA_FRACTION = 0.0025;

function sourceOf(opt: MaskSourceOption): { source: MaskSource; detail: string; params: unknown } {
  switch (opt.kind) {
    case 'auto':
      return { source: 'auto', detail: AUTO_SOURCE_DETAIL, params: opt.hierarchy ?? HIERARCHY_DEFAULTS };
    case 'sam':
      return { source: 'sam', detail: opt.model.id, params: { ...AMG_DEFAULTS, ...opt.amg } };
    case 'imported':
      return { source: 'imported', detail: opt.folder, params: null };
  }
}

/** What a view's result depends on: a changed image, source or parameter invalidates its cache. */
function inputKeyFor(view: PrepareView, imagePath: string, src: { source: MaskSource; detail: string; params: unknown }): string {
  const st = statSync(imagePath);
  return createHash('sha256')
    .update(JSON.stringify([view.name, imagePath, st.size, st.mtimeMs, src.source, src.detail, src.params]))
    .digest('hex')
    .slice(0, 32);
}

interface ViewMasks {
  masks: Uint8Array[];
  infos: MaskInfo[];
  features: Float32Array | null;
  featureKind: 'sam-embedding' | 'classical' | null;
}

/** The view image at the mask grid, for auto segmentation and contact sheets. */
export function imageAtGrid(img: RgbImage, gridW: number, gridH: number): Float32Array {
  return resizeChannels(img.data, img.width, img.height, 3, gridW, gridH);
}

/** Embedded default for one decoded view: nested classical masks and classical features. */
export function autoViewMasks(img: RgbImage, gridW: number, gridH: number, hierarchy: HierarchyParams = HIERARCHY_DEFAULTS): { masks: { level: number; mask: Uint8Array; area: number }[] } {
  const small = imageAtGrid(img, gridW, gridH);
  const levels = segmentHierarchy(small, gridW, gridH, hierarchy);
  const minArea = Math.max(4, Math.round(AUTO_MIN_AREA_FRACTION * gridW * gridH));
  return { masks: hierarchyMasks(levels, gridW, gridH, minArea) };
}

async function computeView(img: RgbImage, gridW: number, gridH: number, opt: MaskSourceOption, predictor: SamPredictor | undefined, imagePath: string, signal?: AbortSignal): Promise<ViewMasks> {
  if (opt.kind === 'auto') {
    const { masks } = autoViewMasks(img, gridW, gridH, opt.hierarchy);
    await yieldToLoop();
    const features = classicalFeatures(img);
    return {
      masks: masks.map((m) => packMask(m.mask)),
      infos: masks.map((m) => ({ area: m.area, level: m.level, box: maskBox(m.mask, gridW, gridH) })),
      features,
      featureKind: 'classical',
    };
  }
  if (opt.kind === 'imported') {
    const masks = readImportedMasks(opt.folder, imagePath, gridW, gridH).filter((m) => m.area > 0);
    // Training's guidance loss needs image features beside the masks: the built-in ones.
    await yieldToLoop();
    return {
      masks: masks.map((m) => packMask(m.mask)),
      infos: masks.map((m) => ({ area: m.area, level: m.level, box: maskBox(m.mask, gridW, gridH) })),
      features: classicalFeatures(img),
      featureKind: 'classical',
    };
  }
  const sam = predictor!;
  const emb = await sam.embed(img);
  const gen = await generateMasks((x, y, size) => sam.decode(emb, { points: [{ x, y, label: 1 }] }, true, size), img.width, img.height, opt.amg, { signal });
  const masks: Uint8Array[] = [];
  const infos: MaskInfo[] = [];
  for (const g of gen.masks) {
    const full = unpackMask(g.bits, gen.width * gen.height);
    const small = downsampleMask(full, gen.width, gen.height, gridW, gridH);
    let area = 0;
    for (let i = 0; i < small.length; i++) area += small[i]!;
    if (area === 0) continue;
    masks.push(packMask(small));
    infos.push({ area, level: 0, box: maskBox(small, gridW, gridH), predictedIou: g.predictedIou, stability: g.stability });
  }
  return { masks, infos, features: emb.data, featureKind: 'sam-embedding' };
}

function cancelled(): SagaError {
  // Host-neutral: the app says "click Prepare", the CLI "run the same command".
  return new SagaError('CANCELLED', 'Preparation was cancelled. Finished views are kept, and the next run continues from there.');
}

/**
 * Prepares every view. Rejects with CANCELLED when the signal fires (finished views stay cached),
 * with MODEL_* errors before any view when the SAM model cannot be loaded; per-view failures are
 * reported in the result (and as 'view-failed' progress events) without stopping the others.
 */
export async function prepareViews(input: PrepareInput, options: PrepareOptions): Promise<PrepareResult> {
  const started = performance.now();
  const opt = options.masks;
  const src = sourceOf(opt);
  const total = input.views.length;
  const results: PreparedViewResult[] = [];
  let computedMs = 0;
  let computed = 0;
  const report = (p: Omit<PrepareProgress, 'stage' | 'total' | 'etaSeconds'>) => {
    const remaining = total - p.done;
    const etaSeconds = computed > 0 ? Math.round((computedMs / computed / 1000) * remaining) : undefined;
    options.onProgress?.({ stage: 'prepare', total, ...p, ...(etaSeconds !== undefined ? { etaSeconds } : {}) });
  };
  report({ done: 0, event: 'start' });
  const predictor = opt.kind === 'sam' ? await SamPredictor.load(opt.model, { threads: opt.threads }) : undefined;
  try {
    for (const [i, view] of input.views.entries()) {
      if (options.signal?.aborted) throw cancelled();
      const key = viewKey(view.id, view.name);
      const dir = viewDir(input.cacheDir, key);
      const t0 = performance.now();
      try {
        if (!view.imagePath) {
          throw new SagaError('BAD_IMAGE', `View '${view.name}' has no image, so it cannot be prepared. Import the project with its training images.`, { view: view.name });
        }
        let inputKey: string;
        try {
          inputKey = inputKeyFor(view, view.imagePath, src);
        } catch (e) {
          throw new SagaError('FILE_NOT_FOUND', `The image of view '${view.name}' is missing: ${view.imagePath}. Restore it or re-import the project's images.`, { path: view.imagePath }, { cause: e });
        }
        const existing = options.force ? undefined : readManifest(dir);
        if (existing && existing.inputKey === inputKey) {
          results.push({ id: view.id, name: view.name, key, status: 'skipped', masks: existing.masks.length, levels: new Set(existing.masks.map((m) => m.level)).size });
          report({ done: i + 1, view: view.name, event: 'view-skipped' });
          continue;
        }
        const img = decodeImage(new Uint8Array(readFileSync(view.imagePath)), view.imagePath);
        await yieldToLoop();
        if (options.signal?.aborted) throw cancelled();
        const grid = maskGridSize(img.width, img.height);
        const vm = await computeView(img, grid.width, grid.height, opt, predictor, view.imagePath, options.signal);
        await yieldToLoop();
        const elapsedMs = performance.now() - t0;
        const manifest: Omit<ViewManifest, 'version'> = {
          view: view.name,
          source: src.source,
          sourceDetail: src.detail,
          inputKey,
          image: { path: view.imagePath, width: img.width, height: img.height },
          maskWidth: grid.width,
          maskHeight: grid.height,
          masks: vm.infos,
          features:
            vm.features && vm.featureKind
              ? { file: FEATURES_FILE, channels: FEATURE_CHANNELS, height: FEATURE_GRID, width: FEATURE_GRID, dtype: 'float16', kind: vm.featureKind, frame: { size: SAM_INPUT_SIZE, ...longestSideShape(img.width, img.height, SAM_INPUT_SIZE) } }
              : null,
          elapsedMs: Math.round(elapsedMs),
        };
        writePreparedView(dir, manifest, vm.masks, vm.features ? encodeFloat16(vm.features) : null);
        computedMs += elapsedMs;
        computed++;
        results.push({ id: view.id, name: view.name, key, status: 'done', masks: vm.infos.length, levels: new Set(vm.infos.map((m) => m.level)).size });
        report({ done: i + 1, view: view.name, event: 'view-done' });
      } catch (e) {
        const err = toSagaError(e);
        if (err.code === 'CANCELLED' || err.code === 'MODEL_INVALID' || err.code === 'WRITE_FAILED') throw err;
        results.push({ id: view.id, name: view.name, key, status: 'failed', error: err.toJSON() });
        report({ done: i + 1, view: view.name, event: 'view-failed', error: err.toJSON() });
      }
    }
  } finally {
    await predictor?.close();
  }
  return {
    source: src.source,
    sourceDetail: src.detail,
    ...(src.source === 'auto' ? { recommendation: AUTO_RECOMMENDATION } : {}),
    views: results,
    done: results.filter((r) => r.status === 'done').length,
    skipped: results.filter((r) => r.status === 'skipped').length,
    failed: results.filter((r) => r.status === 'failed').length,
    elapsedMs: Math.round(performance.now() - started),
  };
}

/**
 * A contact sheet (see contact-sheet.ts) of up to `maxViews` prepared views, for people to check
 * the masks. Views not prepared yet are left out.
 */
export function preparedContactSheet(input: PrepareInput, maxViews = 8): RgbImage | undefined {
  const rows = [];
  for (const view of input.views) {
    if (rows.length >= maxViews) break;
    const dir = viewDir(input.cacheDir, viewKey(view.id, view.name));
    const m = readManifest(dir);
    if (!m || !view.imagePath) continue;
    const img = decodeImage(new Uint8Array(readFileSync(view.imagePath)), view.imagePath);
    const small = imageAtGrid(img, m.maskWidth, m.maskHeight);
    const n = m.maskWidth * m.maskHeight;
    rows.push({
      image: { width: m.maskWidth, height: m.maskHeight, data: Uint8Array.from(small, (v) => Math.round(v)) },
      masks: readPreparedMasks(dir, m).map((bits, i) => ({ level: m.masks[i]!.level, mask: unpackMask(bits, n) })),
    });
  }
  return rows.length ? maskContactSheet(rows) : undefined;
}
