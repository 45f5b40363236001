/**
 * The backend's 'segment' namespace: a prompt in a view to a selection of Gaussians (SAGA's
 * segmentation, engine/segment/saga.ts) combined with the open project's current selection.
 *
 * Per project it keeps what segmentation reads, made once and reused for every prompt: the
 * spatial index of the scene's centres, the pixel probe, the training views' blends recorded for the
 * multi-view check (engine/segment/view-check.ts), and the trained features smoothed over spatial
 * neighbours and made unit length. The features are made again when training has written newer
 * ones (a newer checkpoint), so a user can segment while training runs.
 *
 * A prompt with `sam` is SAGA's SAM-based prompt (sam-prompts.ts, engine/segment/sam-prompt.ts):
 * the SAM model the views were prepared with is loaded once and kept until the project closes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { buildViewVotesInWorker } from '../engine/segment/view-votes-worker.ts';
import type { ApiMethods, SegmentOutcome, SegmentPrompt } from '../contract/api.ts';
import { SagaError } from '../contract/errors.ts';
import type { Handlers } from '../contract/rpc.ts';
import { buildSpatialIndex, type SpatialIndex } from '../engine/post/spatial-index.ts';
import { normalizeRows } from '../engine/segment/kmeans.ts';
import type { Mask2D } from '../engine/segment/mask2d.ts';
import { PixelProbe } from '../engine/segment/pixel-probe.ts';
import { NO_POST, sagaSegment } from '../engine/segment/saga.ts';
import { spreadPick, VIEW_VOTE_DEFAULTS, type ViewVotes } from '../engine/segment/view-check.ts';
import { ScoreKernel, scoreWith } from '../engine/segment/wasm-score.ts';
import { loadShaderFromDisk } from '../engine/gpu/node-shaders.ts';
import type { Prompt } from '../engine/segment/types.ts';
import { smoothFeatures } from '../engine/train/smoothing.ts';
import { packMask, readManifest, readPreparedMasks, unpackMask, viewDir, viewKey, type ViewManifest } from '../engine/masks/storage.ts';
import { listCheckpoints, readTrainedFeatures } from '../project/checkpoints.ts';
import type { Project } from '../project/store.ts';
import type { Camera } from '../scene/camera.ts';
import type { GaussianScene } from '../scene/gaussians.ts';
import type { EditService } from './edit-service.ts';
import type { ModelManager } from '../engine/masks/models.ts';
import type { RgbImage } from '../engine/masks/image.ts';
import { runSamPrompt, SamPredictors } from './sam-prompts.ts';

/** What segmentation reads for one scene and one set of trained features. */
export interface SegmentData {
  scene: GaussianScene;
  index: SpatialIndex;
  probe: PixelProbe;
  /** Smoothed unit features (count x dim) and the checkpoint they come from. */
  unit: Float32Array;
  dim: number;
  checkpoint: string;
  /** The prepared views' blends and masks for the multi-view check, once recorded (none: no check). */
  viewVotes?: ViewVotes;
  /** The SIMD scoring kernel holding these features (undefined: the plain loop scores). */
  kernel?: ScoreKernel;
}

/** How long a prompt waits for the prepared views' recording (the multi-view check) before it runs without. */
const VOTES_WAIT_MS = 3000;

export interface SegmentDeps {
  scene: () => GaussianScene | undefined;
  project: () => Project | undefined;
  edits: EditService;
  /** Where SAM models are found (SAM-based prompts). */
  models?: () => ModelManager;
  /** The colour image of a free camera, for a SAM-based prompt there (the engine renders it). */
  renderImage?: (scene: GaussianScene, camera: Camera) => Promise<RgbImage>;
}

export class SegmentService {
  private data: SegmentData | undefined;
  private votes: { scene: GaussianScene; promise: Promise<ViewVotes | undefined> } | undefined;
  private kernel: Promise<ScoreKernel> | undefined;
  private predictors: SamPredictors | undefined;
  readonly handlers: Pick<Handlers<ApiMethods>, 'segment.prompt'>;

  constructor(private readonly deps: SegmentDeps) {
    this.handlers = {
      'segment.prompt': (params) => this.prompt(params),
    };
  }

  /** Forget the open project's data (on close). */
  reset(): void {
    this.data = undefined;
    this.votes = undefined;
    const predictors = this.predictors;
    this.predictors = undefined;
    void predictors?.close();
  }

  /** The data for the open project, made or refreshed as needed. */
  async prepare(project: Project, scene: GaussianScene): Promise<SegmentData> {
    const newest = listCheckpoints(project.dir)[0]?.path;
    if (this.data && this.data.scene === scene && this.data.checkpoint === newest) return this.data;
    this.kernel ??= ScoreKernel.create(loadShaderFromDisk);
    this.data = { ...loadSegmentData(project, scene, this.data?.scene === scene ? this.data : undefined), kernel: await this.kernel };
    this.data.kernel!.setFeatures(this.data.unit, this.data.dim);
    return this.data;
  }

  /**
   * The prepared views recorded for the multi-view check, once per scene, in a worker thread.
   * Recording takes about a second a view at 300k Gaussians and three at 1M, so a prompt waits for it
   * at most VOTES_WAIT_MS; until it is done, prompts run without the check (their timings have no
   * 'views').
   * A recording that fails (a damaged masks file) leaves the check out and is logged.
   */
  private async viewVotes(project: Project, scene: GaussianScene): Promise<ViewVotes | undefined> {
    if (this.votes?.scene !== scene) {
      const promise = projectViewVotes(project, scene).catch((e: unknown) => {
        console.error(`Recording the prepared views for the multi-view check failed; segmenting without it: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      });
      this.votes = { scene, promise };
    }
    // Once recorded, the race goes to the settled promise at once.
    const stop = new AbortController();
    const waited = sleep(VOTES_WAIT_MS, undefined, { signal: stop.signal }).catch(() => undefined);
    try {
      return await Promise.race([this.votes.promise, waited]);
    } finally {
      stop.abort();
    }
  }

  private async prompt(params: ApiMethods['segment.prompt']['params']): Promise<SegmentOutcome> {
    const started = performance.now();
    const project = this.deps.project();
    const scene = this.deps.scene();
    if (!project || !scene) throw new SagaError('NO_PROJECT', 'No project is open, so there is nothing to segment. Open a project first.');
    const { camera, viewMasks } = promptCamera(project, params.view, params.camera);
    const prepared = await this.prepare(project, scene);
    const viewVotes = params.post === false ? undefined : await this.viewVotes(project, scene);
    const data = viewVotes ? { ...prepared, viewVotes } : prepared;
    const t0 = performance.now();
    const scorer = (queries: Float32Array) => scoreWith(data.kernel, data.unit, data.dim, queries);
    const noPost = { post: NO_POST };
    const result = 'sam' in params.prompt && params.prompt.sam
      ? await runSamPrompt({
        project, data, camera, view: params.view, prompt: toPrompt(params.prompt), scorer,
        predictors: this.samPredictors(),
        ...(this.deps.renderImage ? { renderImage: (c: Camera) => this.deps.renderImage!(scene, c) } : {}),
        ...(params.post === false ? { options: noPost } : {}),
      })
      : sagaSegment({
        scene, camera, prompt: toPrompt(params.prompt), unit: data.unit, dim: data.dim, probe: data.probe, index: data.index,
        ...(viewMasks ? { viewMasks } : {}),
        ...(data.viewVotes ? { viewVotes: data.viewVotes } : {}),
        scorer,
        ...(params.post === false ? { options: noPost } : {}),
      });
    const t1 = performance.now();
    let prompted = 0;
    for (let g = 0; g < result.selection.length; g++) prompted += result.selection[g]!;
    const state = this.deps.edits.select(params.mode ?? 'replace', { bytes: result.selection });
    // A 0/1 byte per Gaussian as a bitset (bit i & 7 of byte i >> 3), as masks are stored.
    const bits = packMask(this.deps.edits.current!.selection.mask);
    const t2 = performance.now();
    return {
      ...state,
      bits,
      prompted,
      timings: { prepare: t0 - started, ...result.timings, combine: t2 - t1, total: t2 - started },
    };
  }

  private samPredictors(): SamPredictors {
    const models = this.deps.models;
    if (!models) throw new SagaError('INTERNAL', 'This host has no SAM model folder, so it cannot run SAM prompts.');
    this.predictors ??= new SamPredictors(models);
    return this.predictors;
  }
}

/** The prompt's camera: a training view (with its prepared masks, for box prompts) or the given one. */
export function promptCamera(project: Project, view: string | undefined, camera: Camera | undefined): { camera: Camera; viewMasks?: Mask2D[] } {
  if (view === undefined) {
    if (!camera) throw new SagaError('BAD_ARGUMENT', 'Say where the prompt was given: a training view name or the viewport camera.');
    return { camera };
  }
  const v = project.views().find((x) => x.name === view);
  if (!v) throw new SagaError('BAD_ARGUMENT', `The project has no view named '${view}'. Choose one of its training views.`, { view });
  const viewMasks = preparedMasks(project, v);
  return { camera: v.camera, ...(viewMasks ? { viewMasks } : {}) };
}

/** A prepared view's automatic masks, undefined when the view is not prepared. */
function preparedMasks(project: Project, v: { id: number; name: string }): Mask2D[] | undefined {
  const dir = viewDir(project.cacheDir, viewKey(v.id, v.name));
  const manifest = readManifest(dir);
  return manifest ? masksOf(dir, manifest) : undefined;
}

function masksOf(dir: string, manifest: ViewManifest): Mask2D[] {
  return readPreparedMasks(dir, manifest).map((bits) => ({ width: manifest.maskWidth, height: manifest.maskHeight, data: unpackMask(bits, manifest.maskWidth * manifest.maskHeight) }));
}

/**
 * The prepared views' blends recorded for the multi-view check (at most VIEW_VOTE_DEFAULTS.maxViews
 * of them, spread over the views); undefined when no view is prepared.
 */
export async function projectViewVotes(project: Project, scene: GaussianScene): Promise<ViewVotes | undefined> {
  // Each view's manifest is read once: to know it is prepared, then to read the picked ones' masks.
  const prepared = project.views().flatMap((v) => {
    const dir = viewDir(project.cacheDir, viewKey(v.id, v.name));
    const manifest = readManifest(dir);
    return manifest ? [{ camera: v.camera, dir, manifest }] : [];
  });
  const views = spreadPick(prepared, VIEW_VOTE_DEFAULTS.maxViews).flatMap(({ camera, dir, manifest }) => {
    const masks = masksOf(dir, manifest);
    return masks.length ? [{ camera, masks }] : [];
  });
  return views.length ? buildViewVotesInWorker(scene, views) : undefined;
}

/**
 * What segmentation reads for a project: its trained features (newest good checkpoint) smoothed
 * and made unit length, with the scene's index and probe (reused from `geometry` for the same scene).
 * The prepared views for the multi-view check are recorded apart (projectViewVotes).
 */
export function loadSegmentData(project: Project, scene: GaussianScene, geometry?: { index: SpatialIndex; probe: PixelProbe }): SegmentData {
  const trained = readTrainedFeatures(project.dir, scene.count);
  if (!trained) throw new SagaError('NOT_TRAINED', 'The features of this project are not trained yet, so there is nothing to segment with. Prepare the views, then Train (or saga-studio train).', { dir: project.dir });
  const index = geometry?.index ?? buildSpatialIndex(scene.positions);
  const probe = geometry?.probe ?? new PixelProbe(scene);
  const unit = normalizeRows(smoothFeatures(trained.features, trained.dim, index), trained.dim);
  return { scene, index, probe, unit, dim: trained.dim, checkpoint: trained.checkpoint };
}

/** The API's prompt as the engine takes it. */
export function toPrompt(p: SegmentPrompt): Prompt {
  if (p.kind === 'mask') return { kind: 'mask', mask: { width: p.width, height: p.height, data: p.data } };
  return p;
}
