/**
 * What a SAM-based prompt needs beside the trained features, found for a project (the segment
 * service and the CLI share it): the SAM model the views were prepared with, the image embedding of
 * the prompt's view (the prepared one for a training view; for any other camera the rendered colour
 * image run through the encoder), SAM's mask for the click or box, and the projection MLP phi from
 * the checkpoint the features come from.
 */
import { SagaError, isSagaError } from '../contract/errors.ts';
import type { ModelManager } from '../engine/masks/models.ts';
import type { RgbImage } from '../engine/masks/image.ts';
import { SamPredictor, type SamEmbedding, type SamPrompt } from '../engine/masks/sam.ts';
import { listPreparedViews, maskGridSize, readManifest, readPreparedFeatures, viewDir, viewKey, type ViewManifest } from '../engine/masks/storage.ts';
import type { Mask2D } from '../engine/segment/mask2d.ts';
import { samSegment, type SamFeatureGrid, type SamPromptOptions, type SamSegmentResult } from '../engine/segment/sam-prompt.ts';
import type { Prompt } from '../engine/segment/types.ts';
import { mlpSize } from '../engine/train/mlp.ts';
import { loadCheckpoint } from '../project/checkpoints.ts';
import type { Project } from '../project/store.ts';
import type { Camera } from '../scene/camera.ts';
import type { SegmentData } from './segment-service.ts';

const INSTALL_HINT = "Install a SAM model ('saga-studio prepare --list-models', then 'saga-studio prepare --project <dir> --masks sam --model <id> --download --force'), and train again";

function preparedWithSam(m: ViewManifest): boolean {
  return m.source === 'sam' && m.features?.kind === 'sam-embedding';
}

/** The SAM model a prompt decodes with: the one the prompt's view (or, for a free camera, the project's views) was prepared with. */
export function samModelOf(project: Project, view: string | undefined): string {
  if (view !== undefined) {
    const v = project.views().find((x) => x.name === view);
    if (!v) throw new SagaError('BAD_ARGUMENT', `The project has no view named '${view}'. Choose one of its training views.`, { view });
    const manifest = readManifest(viewDir(project.cacheDir, viewKey(v.id, v.name)));
    if (!manifest || !preparedWithSam(manifest)) {
      const how = !manifest ? 'is not prepared' : manifest.source === 'auto' ? 'was prepared with the built-in classical masks' : `was prepared with masks imported from ${manifest.sourceDetail}`;
      throw new SagaError('MASKS_MISSING', `View '${view}' ${how}, not with SAM, so it has no SAM image embedding for a SAM prompt. ${INSTALL_HINT}; or prompt without SAM.`, { view });
    }
    return manifest.sourceDetail;
  }
  const sam = listPreparedViews(project.cacheDir).find((p) => preparedWithSam(p.manifest));
  if (!sam) throw new SagaError('MASKS_MISSING', `The views of this project were not prepared with SAM, so there is no SAM model to decode a SAM prompt with. ${INSTALL_HINT}; or prompt without SAM.`);
  return sam.manifest.sourceDetail;
}

/** Loaded SAM predictors by model, kept for later prompts. */
export class SamPredictors {
  private readonly loaded = new Map<string, Promise<SamPredictor>>();
  /**
   * The last free camera's embedding: the encoder costs seconds on a CPU, and a user often clicks
   * again in the same pose (adding a part, a negative click) before moving.
   */
  private lastFree: { key: string; value: { embedding: SamEmbedding; grid: SamFeatureGrid } } | undefined;

  constructor(private readonly models: () => ModelManager) {}

  get(modelId: string): Promise<SamPredictor> {
    let p = this.loaded.get(modelId);
    if (!p) {
      p = (async () => {
        let files;
        try {
          files = this.models().resolve(modelId);
        } catch (e) {
          if (!isSagaError(e, 'MODEL_NOT_FOUND')) throw e;
          throw new SagaError('MODEL_NOT_FOUND', `SAM prompts decode with the model the views were prepared with ('${modelId}'), which is not available: ${e.message} Install it, or prepare the views again with an installed SAM model (see 'saga-studio prepare --list-models').`, { model: modelId }, { cause: e });
        }
        // One thread: the host's other work (scoring, the engine) shares the machine.
        return SamPredictor.load(files, { threads: 1 });
      })();
      this.loaded.set(modelId, p);
      // A model that failed to load is tried again at the next prompt (it may be installed meanwhile).
      p.catch(() => this.loaded.delete(modelId));
    }
    return p;
  }

  /**
   * The embedding of `camera`'s rendered image with `modelId`, reused while the camera stays the
   * same (the owner makes new SamPredictors for another project, hence another scene).
   */
  async freeEmbedding(modelId: string, camera: Camera, render: (camera: Camera) => Promise<RgbImage>): Promise<{ embedding: SamEmbedding; grid: SamFeatureGrid }> {
    const key = JSON.stringify([modelId, camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy, camera.rotation, camera.translation]);
    if (this.lastFree?.key === key) return this.lastFree.value;
    const value = await encodedEmbedding(await this.get(modelId), await render(camera));
    this.lastFree = { key, value };
    return value;
  }

  async close(): Promise<void> {
    this.lastFree = undefined;
    const all = [...this.loaded.values()];
    this.loaded.clear();
    // A model that failed to load has nothing to release; its error went to the prompt that asked.
    for (const p of all) await (await p.catch(() => undefined))?.close();
  }
}

/** A training view's prepared SAM embedding, as the decoder and the prompt take it. */
export function preparedEmbedding(project: Project, view: string): { embedding: SamEmbedding; grid: SamFeatureGrid } {
  const v = project.views().find((x) => x.name === view)!;
  const dir = viewDir(project.cacheDir, viewKey(v.id, v.name));
  const manifest = readManifest(dir)!;
  const f = manifest.features!;
  const data = readPreparedFeatures(dir, manifest)!;
  const grid: SamFeatureGrid = { data, channels: f.channels, height: f.height, width: f.width, frame: f.frame };
  return {
    grid,
    embedding: { data, channels: f.channels, height: f.height, width: f.width, imageWidth: manifest.image.width, imageHeight: manifest.image.height, inputWidth: f.frame.width, inputHeight: f.frame.height },
  };
}

/** The encoder's embedding of an image (a free camera's rendered colour). */
export async function encodedEmbedding(predictor: SamPredictor, image: RgbImage): Promise<{ embedding: SamEmbedding; grid: SamFeatureGrid }> {
  const embedding = await predictor.embed(image);
  const size = predictor.files.convention.size;
  return { embedding, grid: { data: embedding.data, channels: embedding.channels, height: embedding.height, width: embedding.width, frame: { size, width: embedding.inputWidth, height: embedding.inputHeight } } };
}

/**
 * The decoder's prompt for a click or a box given in `camera`'s pixels, in the embedded image's
 * pixels. Clicks outside the view and empty or inverted boxes are typed errors.
 */
export function decoderPrompt(camera: Camera, prompt: Prompt, image: { width: number; height: number }): SamPrompt {
  const sx = image.width / camera.width;
  const sy = image.height / camera.height;
  if (prompt.kind === 'points') {
    if (!prompt.points.some((p) => p.label === 1)) throw new SagaError('BAD_ARGUMENT', 'A SAM prompt needs at least one point on the object to select.');
    for (const p of prompt.points) {
      if (!(p.x >= 0 && p.y >= 0 && p.x < camera.width && p.y < camera.height)) {
        throw new SagaError('BAD_ARGUMENT', `The point (${p.x}, ${p.y}) is outside the ${camera.width}x${camera.height} view. Click inside the image.`, { x: p.x, y: p.y });
      }
    }
    return { points: prompt.points.map((p) => ({ x: p.x * sx, y: p.y * sy, label: p.label })) };
  }
  if (prompt.kind === 'box') {
    const [x0, y0, x1, y1] = prompt.box;
    if (!(x1 > x0 && y1 > y0)) throw new SagaError('BAD_ARGUMENT', `The box (${x0}, ${y0}, ${x1}, ${y1}) is empty or inverted: give x0 < x1 and y0 < y1.`, { box: prompt.box });
    if (x1 <= 0 || y1 <= 0 || x0 >= camera.width || y0 >= camera.height) {
      throw new SagaError('BAD_ARGUMENT', `The box (${x0}, ${y0}, ${x1}, ${y1}) lies outside the ${camera.width}x${camera.height} view.`, { box: prompt.box });
    }
    const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
    return { box: [clamp(x0, camera.width) * sx, clamp(y0, camera.height) * sy, clamp(x1, camera.width) * sx, clamp(y1, camera.height) * sy] };
  }
  throw new SagaError('BAD_ARGUMENT', `A SAM prompt is clicks or a box; a ${prompt.kind} prompt goes without SAM.`);
}

/**
 * SAM's mask for the prompt, on the mask grid of the embedded image (about 200 x 200 pixels, its
 * aspect). One positive click alone is ambiguous, so SAM's three masks are asked for and the one it
 * rates best is taken (as SAM's own predictor advises); more clicks or a box take its single mask.
 */
export async function samMask(predictor: SamPredictor, embedding: SamEmbedding, prompt: SamPrompt): Promise<Mask2D> {
  const size = maskGridSize(embedding.imageWidth, embedding.imageHeight);
  const multimask = !prompt.box && prompt.points?.length === 1;
  const decoded = await predictor.decode(embedding, prompt, multimask, size);
  let best = 0;
  for (let m = 1; m < decoded.count; m++) if (decoded.iou[m]! > decoded.iou[best]!) best = m;
  const plane = decoded.width * decoded.height;
  const data = new Uint8Array(plane);
  for (let i = 0; i < plane; i++) data[i] = decoded.logits[best * plane + i]! > 0 ? 1 : 0;
  return { width: decoded.width, height: decoded.height, data };
}

/**
 * The projection MLP trained with the features of `checkpoint` (the one segmentation reads). Its
 * parameters are only trained by the SAM-guidance loss: a run without it cannot serve SAM prompts.
 */
export function trainedMlp(projectDir: string, count: number, checkpoint: string, dim: number): Float32Array {
  const c = loadCheckpoint(projectDir, { names: ['mlp'], count });
  if (!c) throw new SagaError('NOT_TRAINED', 'The features of this project are not trained yet. Prepare the views with SAM, then Train (or saga-studio train).', { dir: projectDir });
  if (c.path !== checkpoint) throw new SagaError('BUSY', 'Training wrote newer features while this prompt was being read. Prompt again.');
  if (c.meta.options.guidance === false) {
    throw new SagaError('NOT_TRAINED', 'These features were trained without the SAM-guidance loss, which trains the projection SAM prompts use. Train again with it (without --ablate guidance), or prompt without SAM.', { dir: projectDir });
  }
  const mlp = c.arrays.mlp as Float32Array;
  if (mlp.length !== mlpSize(dim)) throw new SagaError('PROJECT_CORRUPT', `${c.path} holds a projection MLP of the wrong size. Train again from the start.`, { path: c.path });
  return mlp;
}

/** Colour floats (H * W * 3, 0..1) as an 8-bit image for the encoder. */
export function colourImage(color: Float32Array, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(color[i]! * 255)));
  return { width, height, data };
}

export interface SamPromptRun {
  project: Project;
  data: Pick<SegmentData, 'scene' | 'index' | 'probe' | 'unit' | 'dim' | 'checkpoint' | 'viewVotes'>;
  camera: Camera;
  /** The training view the prompt is in; undefined for a free camera. */
  view: string | undefined;
  prompt: Prompt;
  predictors: SamPredictors;
  /** The colour image of a free camera (the engine renders it); needed only without a view. */
  renderImage?: (camera: Camera) => Promise<RgbImage>;
  scorer?: (queries: Float32Array) => Float32Array;
  options?: Partial<SamPromptOptions>;
}

/** A SAM-based prompt from start to selection; `timings.sam` is the embedding and the decoder. */
export async function runSamPrompt(x: SamPromptRun): Promise<SamSegmentResult & { samMask: Mask2D }> {
  const t0 = performance.now();
  const modelId = samModelOf(x.project, x.view);
  const mlp = trainedMlp(x.project.dir, x.data.scene.count, x.data.checkpoint, x.data.dim);
  const predictor = await x.predictors.get(modelId);
  let source: { embedding: SamEmbedding; grid: SamFeatureGrid };
  if (x.view !== undefined) source = preparedEmbedding(x.project, x.view);
  else {
    if (!x.renderImage) throw new SagaError('INTERNAL', 'A SAM prompt in a free camera needs the rendered image, and this host cannot render one.');
    source = await x.predictors.freeEmbedding(modelId, x.camera, x.renderImage);
  }
  const mask = await samMask(predictor, source.embedding, decoderPrompt(x.camera, x.prompt, { width: source.embedding.imageWidth, height: source.embedding.imageHeight }));
  const sam = performance.now() - t0;
  const { scene, index, probe, unit, dim, viewVotes } = x.data;
  const result = samSegment({
    scene, camera: x.camera, samMask: mask, grid: source.grid, mlp, unit, dim, probe, index,
    ...(viewVotes ? { viewVotes } : {}),
    ...(x.scorer ? { scorer: x.scorer } : {}),
    ...(x.options ? { options: x.options } : {}),
  });
  return { ...result, timings: { sam, ...result.timings }, samMask: mask };
}
