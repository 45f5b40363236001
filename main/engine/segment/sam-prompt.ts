/**
 * SAGA's SAM-based prompt (the paper's section 3.4, then the region growing of section 3.5): SAM's
 * decoder has already turned the click or box into a 2D mask on the view's image (the host runs
 * it); this file turns that mask into a selection of Gaussians.
 *
 * 1. The image embedding's cells under the mask go through phi, the projection MLP trained with the
 *    features (train/mlp.ts), and their masked average (each mask pixel takes its cell's feature,
 *    as the guidance loss's prototype does, train/losses.ts) is the candidate query.
 * 2. The temporary mask is where the rendered features agree with that query: the guidance loss
 *    trained sigmoid(query . rendered feature) to be the mask, so its decision line is a dot
 *    product of 0. When the temporary mask covers at least 90% of SAM's mask (measured at up to
 *    `maxPromptPixels` pixels of it), the query is accepted; otherwise the target has parts the
 *    average misses, and k-means over phi(SAM features) inside the mask gives the queries
 *    (Euclidean, weighted by each cell's share of the mask: the scores are dot products, so a
 *    query keeps its length).
 * 3. A Gaussian's score is its highest dot product with a query (equation 12); it is selected when
 *    the score is above the mean plus the standard deviation of all scores.
 * 4. Post-processing as for mask prompts: region growing from the selected Gaussians whose centres
 *    project inside SAM's mask, then ball-query growing (saga.ts postProcess).
 *
 * The Gaussian features are the smoothed unit ones every prompt uses (segment-service.ts), not
 * the raw trained ones the paper dots with: one copy of the features serves every prompt and the
 * SIMD scoring kernel. With one query this ranks Gaussians exactly as the raw product would
 * rank their directions; the threshold (mean + std) does not depend on the queries' scale.
 */
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import type { SpatialIndex } from '../post/spatial-index.ts';
import type { ViewVotes } from './view-check.ts';
import { mlpForwardReference, SAM_CHANNELS } from '../train/mlp.ts';
import { SagaError } from '../../contract/errors.ts';
import { weightedKMeans } from './kmeans.ts';
import type { Mask2D } from './mask2d.ts';
import type { PixelProbe } from './pixel-probe.ts';
import { maskPixels, maxScores, phaseTimer, postProcess, SAGA_DEFAULTS, subsample, type PostOptions, type SagaResult } from './saga.ts';

/** A SAM image embedding and where it lies on the image. */
export interface SamFeatureGrid {
  /** C x H x W (256 x 64 x 64 for SAM). */
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
  /**
   * The embedding spans a square frame of `frame.size` pixels (1024); the image, resized so its
   * longest side fits, occupies `frame.width` x `frame.height` of it from the top-left.
   */
  frame: { size: number; width: number; height: number };
}

export interface SamPromptOptions {
  /** Share of SAM's mask the temporary mask must cover for the masked average to be the query. */
  coverage: number;
  /** K-means clusters when it is not. */
  clusters: number;
  /** Most pixels of SAM's mask rendered for the temporary mask. */
  maxPromptPixels: number;
  post: PostOptions;
}

export const SAM_PROMPT_DEFAULTS: SamPromptOptions = {
  coverage: 0.9,
  clusters: 5,
  maxPromptPixels: 512,
  post: { ...SAGA_DEFAULTS.post, filter: false },
};

/** The embedding cells under a mask (on the image, any resolution) and each one's share of its pixels. */
export function maskCells(mask: Mask2D, grid: SamFeatureGrid): { cells: Uint32Array; weights: Float64Array } {
  const share = new Map<number, number>();
  let area = 0;
  const { frame } = grid;
  for (let y = 0; y < mask.height; y++) {
    const cy = Math.min(grid.height - 1, Math.floor(((((y + 0.5) / mask.height) * frame.height) / frame.size) * grid.height));
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[y * mask.width + x]) continue;
      const cx = Math.min(grid.width - 1, Math.floor(((((x + 0.5) / mask.width) * frame.width) / frame.size) * grid.width));
      const cell = cy * grid.width + cx;
      share.set(cell, (share.get(cell) ?? 0) + 1);
      area++;
    }
  }
  const cells = Uint32Array.from([...share.keys()].sort((a, b) => a - b));
  const weights = Float64Array.from(cells, (c) => share.get(c)! / area);
  return { cells, weights };
}

/** phi of the embedding at `cells`: cells.length x dim. */
export function projectCells(grid: SamFeatureGrid, cells: ArrayLike<number>, mlp: Float32Array, dim: number): Float32Array {
  if (grid.channels !== SAM_CHANNELS) {
    throw new SagaError('PROJECT_CORRUPT', `The image embedding has ${grid.channels} channels; the projection MLP takes ${SAM_CHANNELS}. Prepare the views with SAM again.`);
  }
  const n = cells.length;
  const plane = grid.width * grid.height;
  const input = new Float32Array(n * SAM_CHANNELS);
  for (let i = 0; i < n; i++) for (let c = 0; c < SAM_CHANNELS; c++) input[i * SAM_CHANNELS + c] = grid.data[c * plane + cells[i]!]!;
  return Float32Array.from(mlpForwardReference(mlp, dim, input, n).out);
}

/** sum_i weights[i] * rows[i] (rows: n x dim). */
export function maskedAverage(rows: Float32Array, weights: ArrayLike<number>, dim: number): Float32Array {
  const out = new Float64Array(dim);
  for (let i = 0; i < weights.length; i++) for (let c = 0; c < dim; c++) out[c] = out[c]! + weights[i]! * rows[i * dim + c]!;
  return Float32Array.from(out);
}

/** The share of `rendered` rows (features at pixels of SAM's mask) inside the temporary mask of `query`. */
export function temporaryCoverage(rendered: Float32Array, query: Float32Array, dim: number): number {
  const n = rendered.length / dim;
  if (n === 0) return 0;
  let inside = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += rendered[i * dim + c]! * query[c]!;
    if (s > 0) inside++;
  }
  return inside / n;
}

export interface SamQueries {
  /** q x dim. */
  queries: Float32Array;
  /** Which rule gave them. */
  rule: 'mask-average' | 'kmeans';
  /** The temporary mask's share of SAM's mask. */
  coverage: number;
}

/** The queries of a SAM-based prompt from phi at the mask's cells and the rendered features at its pixels. */
export function samQueries(x: { cellFeatures: Float32Array; weights: ArrayLike<number>; rendered: Float32Array; dim: number; coverage?: number; clusters?: number }): SamQueries {
  const average = maskedAverage(x.cellFeatures, x.weights, x.dim);
  const coverage = temporaryCoverage(x.rendered, average, x.dim);
  if (coverage >= (x.coverage ?? SAM_PROMPT_DEFAULTS.coverage)) return { queries: average, rule: 'mask-average', coverage };
  return { queries: weightedKMeans(x.cellFeatures, x.dim, x.clusters ?? SAM_PROMPT_DEFAULTS.clusters, x.weights), rule: 'kmeans', coverage };
}

/** The SAM-based prompt's threshold: the mean plus the standard deviation of the (finite) scores. */
export function meanPlusStd(scores: ArrayLike<number>): number {
  let n = 0, sum = 0;
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i]!)) { sum += scores[i]!; n++; }
  if (n === 0) return Infinity;
  const mean = sum / n;
  let variance = 0;
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i]!)) variance += (scores[i]! - mean) ** 2;
  return mean + Math.sqrt(variance / n);
}

export interface SamSegmentInput {
  scene: GaussianScene;
  /** The camera the prompt was given in; SAM's mask covers its image. */
  camera: Camera;
  /** SAM's mask for the prompt (any resolution with the image's aspect). */
  samMask: Mask2D;
  /** The image embedding the mask was decoded from. */
  grid: SamFeatureGrid;
  /** The projection MLP's parameters (train/mlp.ts layout) from the same training as the features. */
  mlp: Float32Array;
  /** Smoothed unit features (count x dim). */
  unit: Float32Array;
  dim: number;
  probe: PixelProbe;
  index: SpatialIndex;
  /** The training views' recorded blends and masks, for the multi-view check. */
  viewVotes?: ViewVotes;
  /** Highest dot product of each Gaussian's unit feature with queries of length at most 1 (the SIMD kernel); default the plain loop. */
  scorer?: (queries: Float32Array) => Float32Array;
  options?: Partial<SamPromptOptions>;
}

export interface SamSegmentResult extends SagaResult {
  rule: SamQueries['rule'] | 'empty';
  coverage: number;
}

export function samSegment(input: SamSegmentInput): SamSegmentResult {
  const o: SamPromptOptions = { ...SAM_PROMPT_DEFAULTS, ...input.options, post: { ...SAM_PROMPT_DEFAULTS.post, ...input.options?.post } };
  const { scene, camera, samMask, unit, dim } = input;
  const { timings, lap } = phaseTimer();
  const n = scene.count;
  const { cells, weights } = maskCells(samMask, input.grid);
  const pixels = maskPixels(camera, samMask);
  if (cells.length === 0 || pixels.length === 0) {
    // SAM found nothing at the prompt: nothing to select.
    return { selection: new Uint8Array(n), timings, threshold: Infinity, queries: 0, rule: 'empty', coverage: 0 };
  }
  const cellFeatures = projectCells(input.grid, cells, input.mlp, dim);
  const rendered = input.probe.render(camera, subsample(pixels, o.maxPromptPixels), unit, dim).features;
  const { queries, rule, coverage } = samQueries({ cellFeatures, weights, rendered, dim, coverage: o.coverage, clusters: o.clusters });
  lap('queries');
  // The scorer takes queries no longer than 1 (the kernel quantises them); one common scale keeps
  // the order of the queries' products, and the threshold does not depend on it.
  let longest = 0;
  for (let j = 0; j < queries.length / dim; j++) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += queries[j * dim + c]! ** 2;
    longest = Math.max(longest, Math.sqrt(s));
  }
  const scaled = longest > 0 ? queries.map((v) => v / longest) : queries;
  const scores = (input.scorer ?? ((q: Float32Array) => maxScores(unit, dim, q)))(scaled);
  lap('score');
  const threshold = meanPlusStd(scores);
  let selection: Uint8Array = new Uint8Array(n);
  for (let g = 0; g < n; g++) if (scores[g]! > threshold) selection[g] = 1;
  lap('threshold');
  selection = postProcess({ scene, camera, index: input.index, selection, scores, threshold, mask: samMask, post: o.post, ...(input.viewVotes ? { viewVotes: input.viewVotes } : {}), lap });
  return { selection, timings, threshold: threshold * longest, queries: queries.length / dim, rule, coverage };
}
