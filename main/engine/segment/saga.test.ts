import { beforeAll, describe, expect, it } from 'vitest';
import { SagaError } from '../../contract/errors.ts';
import { Mulberry32 } from '../../common/random.ts';
import { lookAtCamera, type Camera } from '../../scene/camera.ts';
import { buildSpatialIndex, type SpatialIndex } from '../post/spatial-index.ts';
import { forEachContribution, projectGaussian } from '../raster/reference.ts';
import { generateSynthScene, type SynthScene } from '../synth/generate.ts';
import { createRandom } from '../synth/random.ts';
import { synthCameras } from '../synth/views.ts';
import { normalizeRows } from './kmeans.ts';
import type { Mask2D } from './mask2d.ts';
import { PixelProbe } from './pixel-probe.ts';
import { featureMask, otsuSplit } from './feature-mask.ts';
import { NO_POST, SAGA_DEFAULTS, sagaSegment, type SagaInput } from './saga.ts';
import { buildViewVotes } from './view-check.ts';
import type { Prompt } from './types.ts';

const W = 96;
const H = 72;

let synth: SynthScene;
let camera: Camera;
let probe: PixelProbe;
let index: SpatialIndex;
/** Object count + 1 (background 0): the feature size of perfect features. */
let dim: number;
/** Per pixel of the prompt view: the object carrying most of its blend, and that object's share of the blend. */
let label: Int32Array;
let purity: Float64Array;

/** One-hot object features plus a little noise, unit length: what perfectly trained features look like. */
function perfectFeatures(noise: number, seed: number): Float32Array {
  const { objectIds } = synth.truth;
  const r = new Mulberry32(seed);
  const f = new Float32Array(objectIds.length * dim);
  for (let g = 0; g < objectIds.length; g++) {
    for (let c = 0; c < dim; c++) f[g * dim + c] = noise * r.normal();
    f[g * dim + objectIds[g]!] = f[g * dim + objectIds[g]!]! + 1;
  }
  return normalizeRows(f, dim);
}

function truthOf(id: number): Uint8Array {
  return Uint8Array.from(synth.truth.objectIds, (o) => (o === id ? 1 : 0));
}

function iou3d(selection: Uint8Array, truth: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let g = 0; g < truth.length; g++) {
    if (selection[g] && truth[g]) inter++;
    if (selection[g] || truth[g]) union++;
  }
  return union === 0 ? 1 : inter / union;
}

function fractionSelected(selection: Uint8Array, id: number): number {
  let n = 0;
  let s = 0;
  synth.truth.objectIds.forEach((o, g) => {
    if (o !== id) return;
    n++;
    if (selection[g]) s++;
  });
  return s / n;
}

/** The pixel a Gaussian's centre projects to, where that object clearly owns the pixel (the click a user makes on it). */
function clickOn(id: number): { x: number; y: number } {
  let best: { x: number; y: number; purity: number } | undefined;
  synth.truth.objectIds.forEach((o, g) => {
    if (o !== id) return;
    const p = projectGaussian(synth.scene, g, camera);
    if (!p || p.u < 0 || p.v < 0 || p.u >= W || p.v >= H) return;
    const pixel = Math.floor(p.v) * W + Math.floor(p.u);
    if (label[pixel] !== id) return;
    if (!best || purity[pixel]! > best.purity) best = { x: p.u, y: p.v, purity: purity[pixel]! };
  });
  if (!best || best.purity < 0.95) throw new Error(`object ${id} has no clean pixel in the prompt view`);
  return best;
}

function objectMask(id: number): Mask2D {
  return { width: W, height: H, data: Uint8Array.from(label, (l, p) => (l === id && purity[p]! >= 0.5 ? 1 : 0)) };
}

function area(id: number): number {
  let n = 0;
  label.forEach((l, p) => {
    if (l === id && purity[p]! >= 0.9) n++;
  });
  return n;
}

function segment(prompt: Prompt, unit: Float32Array, extra: Partial<SagaInput> = {}): ReturnType<typeof sagaSegment> {
  return sagaSegment({ scene: synth.scene, camera, prompt, unit, dim, probe, index, ...extra });
}

function boxOf(mask: Mask2D): [number, number, number, number] {
  let x0 = W, y0 = H, x1 = 0, y1 = 0;
  mask.data.forEach((v, p) => {
    if (!v) return;
    const x = p % W, y = Math.floor(p / W);
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x + 1);
    y1 = Math.max(y1, y + 1);
  });
  return [x0, y0, x1, y1];
}

const NO_FILTER = { post: { filter: false, region: true, extend: 0, grow: true, growWithViews: false, views: false } };

/** Objects in the prompt view worth a prompt, most visible first. */
let visible: number[];

beforeAll(() => {
  synth = generateSynthScene({ seed: 5, gaussians: 4000, kind: 'tabletop' });
  camera = synthCameras(synth.truth, { views: 4, width: W, height: H }, createRandom(5))[0]!;
  probe = new PixelProbe(synth.scene);
  index = buildSpatialIndex(synth.scene.positions);
  dim = synth.truth.objects.length + 1;
  const weights = new Float64Array(W * H * dim);
  const alpha = new Float64Array(W * H);
  forEachContribution(synth.scene, camera, {}, (pixel, g, w) => {
    const k = pixel * dim + synth.truth.objectIds[g]!;
    weights[k] = weights[k]! + w;
    alpha[pixel] = alpha[pixel]! + w;
  });
  label = new Int32Array(W * H);
  purity = new Float64Array(W * H);
  for (let p = 0; p < W * H; p++) {
    let best = 0;
    for (let c = 1; c < dim; c++) if (weights[p * dim + c]! > weights[p * dim + best]!) best = c;
    label[p] = best;
    purity[p] = alpha[p]! > 0 ? weights[p * dim + best]! / alpha[p]! : 0;
  }
  visible = synth.truth.objects.filter((o) => !o.clutter && area(o.id) >= 40).map((o) => o.id).sort((a, b) => area(b) - area(a));
});

describe('sagaSegment on perfect features (one-hot objects plus noise)', () => {
  it('a click on an object selects exactly it before post-processing (fixed threshold), and at least 0.9 IoU with ball-query growing', () => {
    const unit = perfectFeatures(0.05, 1);
    expect(visible.length).toBeGreaterThanOrEqual(2);
    for (const id of visible) {
      const prompt: Prompt = { kind: 'points', points: [{ ...clickOn(id), label: 1 }] };
      const raw = segment(prompt, unit, { options: { post: NO_POST, featureMask: false } });
      expect(raw.queries).toBe(1);
      expect(iou3d(raw.selection, truthOf(id))).toBe(1);
      expect(iou3d(segment(prompt, unit, { options: NO_FILTER }).selection, truthOf(id))).toBeGreaterThanOrEqual(0.9);
    }
  });

  // With perfect features the paper's statistical filter costs 10-19 points (0.81-0.91 over 23
  // objects of 9 generated scenes: legs, stands and shelf boards have sparse neighbourhoods), so the
  // defaults leave it off; they must reach 0.9 on every object.
  it('a click under the default options reaches 0.9 3D IoU on every object', () => {
    const unit = perfectFeatures(0.05, 1);
    for (const id of visible) {
      const out = segment({ kind: 'points', points: [{ ...clickOn(id), label: 1 }] }, unit);
      expect(iou3d(out.selection, truthOf(id))).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('a negative click on a neighbour keeps it out', () => {
    // The table and the mug standing on it (they touch: growing from one reaches the other).
    const a = visible[0]!;
    const b = synth.truth.objects.find((o) => o.touches.includes(a) && o.name === 'mug')!.id;
    expect(synth.truth.objects[a - 1]!.name).toBe('table');
    // The neighbour's features lean towards the target's (cosine 0.8, above the 0.7 fallback
    // threshold), so a positive click alone takes it too; the negative click must remove it.
    const unit = perfectFeatures(0.05, 2);
    for (let g = 0; g < synth.scene.count; g++) {
      if (synth.truth.objectIds[g] !== b) continue;
      unit[g * dim + a] = unit[g * dim + a]! + 1.33 * unit[g * dim + b]!;
    }
    const leaning = normalizeRows(unit, dim);
    const positive = { ...clickOn(a), label: 1 as const };
    const alone = segment({ kind: 'points', points: [positive] }, leaning, { options: NO_FILTER });
    expect(fractionSelected(alone.selection, b)).toBeGreaterThan(0.9);
    const out = segment({ kind: 'points', points: [positive, { ...clickOn(b), label: 0 }] }, leaning, { options: NO_FILTER });
    expect(out.queries).toBe(2);
    expect(fractionSelected(out.selection, b)).toBeLessThan(0.02);
    expect(iou3d(out.selection, truthOf(a))).toBeGreaterThanOrEqual(0.9);
    // The defaults keep it out just as well (the filter only removes).
    expect(fractionSelected(segment({ kind: 'points', points: [positive, { ...clickOn(b), label: 0 }] }, leaning).selection, b)).toBeLessThan(0.02);
  });

  it('a scribble across an object selects it (k-means queries), without the statistical filter', () => {
    const unit = perfectFeatures(0.05, 7);
    for (const id of visible) {
      // A stroke through the object's clean pixels, from its leftmost to its rightmost.
      const clean: number[] = [];
      label.forEach((l, p) => {
        if (l === id && purity[p]! >= 0.95) clean.push(p);
      });
      clean.sort((a, b) => (a % W) - (b % W));
      const ends = [clean[0]!, clean[Math.floor(clean.length / 2)]!, clean[clean.length - 1]!];
      const points = ends.map((p) => ({ x: (p % W) + 0.5, y: Math.floor(p / W) + 0.5, label: 1 as const }));
      const out = segment({ kind: 'scribble', points }, unit, { options: NO_FILTER });
      expect(out.queries).toBeGreaterThanOrEqual(1);
      expect(out.queries).toBeLessThanOrEqual(5);
      expect(iou3d(out.selection, truthOf(id))).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('a mask prompt selects the object under the default options', () => {
    const unit = perfectFeatures(0.05, 3);
    for (const id of visible) {
      const out = segment({ kind: 'mask', mask: objectMask(id) }, unit);
      expect(iou3d(out.selection, truthOf(id))).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('a box prompt in a view with automatic masks selects the object under the default options', () => {
    const unit = perfectFeatures(0.05, 4);
    const viewMasks = visible.map(objectMask);
    for (const id of visible) {
      const out = segment({ kind: 'box', box: boxOf(objectMask(id)) }, unit, { viewMasks });
      expect(iou3d(out.selection, truthOf(id))).toBeGreaterThanOrEqual(0.9);
    }
  });

  // Without automatic masks a box's 2D mask comes from the rendered features inside it (the box's
  // inner half as the mask kept 0.58 of the table and 0.22 of the lamp here).
  it('a box prompt in a view without automatic masks selects the object under the default options', () => {
    const unit = perfectFeatures(0.05, 4);
    for (const id of visible) {
      const out = segment({ kind: 'box', box: boxOf(objectMask(id)) }, unit);
      expect(iou3d(out.selection, truthOf(id))).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('draws the clicked object\'s 2D mask from the rendered features where a view has no automatic masks', () => {
    const unit = perfectFeatures(0.05, 8);
    for (const id of visible) {
      const query = new Float32Array(dim);
      query[id] = 1;
      const click = clickOn(id);
      const mask = featureMask({ probe, camera, unit, dim, positive: query, negative: new Float32Array(0), region: [0, 0, W, H], seeds: [[click.x, click.y]], maxPixels: W * H });
      expect(mask).toBeDefined();
      // At full resolution the mask is the object's pixels (those it owns at least half of).
      expect([mask!.width, mask!.height]).toEqual([W, H]);
      let inter = 0, union = 0;
      const truth = objectMask(id);
      for (let p = 0; p < W * H; p++) {
        if (mask!.data[p] && truth.data[p]) inter++;
        if (mask!.data[p] || truth.data[p]) union++;
      }
      // (0.88 on the table, 0.80 on the lamp, whose base and shade meet through mixed pixels.)
      expect(inter / union).toBeGreaterThanOrEqual(0.75);
    }
    // Otsu's split falls between two clusters of scores.
    const split = otsuSplit([0.1, 0.12, 0.15, 0.11, 0.9, 0.92, 0.95, -Infinity])!;
    expect(split).toBeGreaterThan(0.15);
    expect(split).toBeLessThan(0.9);
    expect(otsuSplit([0.5])).toBeUndefined();
  });

  it('rejects a click outside the image, an empty mask and an inverted or empty box with BAD_ARGUMENT', () => {
    const unit = perfectFeatures(0.05, 5);
    const bad: Prompt[] = [
      { kind: 'points', points: [{ x: W, y: 10, label: 1 }] },
      { kind: 'points', points: [{ x: 10, y: -0.5, label: 1 }] },
      { kind: 'points', points: [{ ...clickOn(visible[0]!), label: 1 }, { x: 5, y: H + 3, label: 0 }] },
      { kind: 'mask', mask: { width: W, height: H, data: new Uint8Array(W * H) } },
      { kind: 'box', box: [60, 10, 20, 40] },
      { kind: 'box', box: [20, 40, 60, 10] },
      { kind: 'box', box: [20, 10, 20, 40] },
    ];
    for (const prompt of bad) {
      let error: unknown;
      try {
        segment(prompt, unit);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(prompt).slice(0, 80)).toBeInstanceOf(SagaError);
      expect((error as SagaError).code).toBe('BAD_ARGUMENT');
    }
  });

  it('a prompt where the scene renders nothing returns an empty selection', () => {
    const unit = perfectFeatures(0.05, 6);
    // A camera beside the scene looking away from it: every pixel is empty background.
    const away = lookAtCamera('away', [synth.truth.focus[0] + 3 * synth.truth.radius, synth.truth.focus[1], 1], [synth.truth.focus[0] + 6 * synth.truth.radius, synth.truth.focus[1], 1], [0, 0, 1], W, H, Math.PI / 3);
    const empty = { width: W, height: H, data: new Uint8Array(W * H).fill(1, 20 * W, 30 * W) };
    for (const prompt of [
      { kind: 'points', points: [{ x: W / 2, y: H / 2, label: 1 }] },
      { kind: 'mask', mask: empty },
      { kind: 'box', box: [10, 10, 50, 40] },
    ] as Prompt[]) {
      const out = segment(prompt, unit, { camera: away });
      expect(out.selection.length).toBe(synth.scene.count);
      expect(out.selection.reduce((s, v) => s + v, 0)).toBe(0);
      expect(out.queries).toBe(0);
    }
  });

  it('the multi-view check runs last, on the training views\' masks, and brings back an object part whose features went astray', () => {
    const cameras = synthCameras(synth.truth, { views: 4, width: W, height: H }, createRandom(5));
    // Each view's masks: per object, the pixels whose blend it carries most of.
    const views = cameras.map((c) => {
      const objects = dim;
      const carried = new Float64Array(W * H * objects);
      forEachContribution(synth.scene, c, {}, (p, g, w) => {
        carried[p * objects + synth.truth.objectIds[g]!]! += w;
      });
      const masks: Mask2D[] = [];
      for (let o = 1; o < objects; o++) {
        const data = new Uint8Array(W * H);
        for (let p = 0; p < W * H; p++) {
          let best = 0;
          for (let k = 1; k < objects; k++) if (carried[p * objects + k]! > carried[p * objects + best]!) best = k;
          data[p] = best === o && carried[p * objects + o]! > 0.3 ? 1 : 0;
        }
        masks.push({ width: W, height: H, data });
      }
      return { camera: c, masks };
    });
    const viewVotes = buildViewVotes(synth.scene, views);
    const id = visible[1]!;
    // One end of the object (a third of its Gaussians along its longest axis) carries the table's
    // feature instead of its own: too far off for hysteresis, too big for ball-query growing.
    const unit = perfectFeatures(0.05, 3);
    const members = [...truthOf(id).keys()].filter((g) => synth.truth.objectIds[g] === id);
    const P = synth.scene.positions;
    const spread = [0, 1, 2].map((a) => Math.max(...members.map((g) => P[3 * g + a]!)) - Math.min(...members.map((g) => P[3 * g + a]!)));
    const axis = spread.indexOf(Math.max(...spread));
    const end = members.sort((g, h) => P[3 * h + axis]! - P[3 * g + axis]!).slice(0, Math.floor(members.length / 3));
    for (const g of end) {
      unit.fill(0, g * dim, g * dim + dim);
      unit[g * dim + visible[0]!] = 1;
    }
    const prompt: Prompt = { kind: 'points', points: [{ ...clickOn(id), label: 1 }] };
    const without = segment(prompt, unit, { viewVotes, options: { post: { ...SAGA_DEFAULTS.post, views: false } } });
    const withViews = segment(prompt, unit, { viewVotes });
    expect(without.timings.views).toBeUndefined();
    expect(Object.keys(withViews.timings).at(-1)).toBe('views');
    // A lamp seen in four views of 96x72: 0.70 without the check, 0.88 with it (the Gaussians inside
    // the stand, which no view sees, keep the features' call).
    const before = iou3d(without.selection, truthOf(id));
    expect(before).toBeLessThan(0.75);
    expect(iou3d(withViews.selection, truthOf(id))).toBeGreaterThanOrEqual(before + 0.15);
  });
});
