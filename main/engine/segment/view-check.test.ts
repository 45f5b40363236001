import { beforeAll, describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../common/random.ts';
import type { Camera } from '../../scene/camera.ts';
import { scaleCamera } from '../../scene/cameras/math.ts';
import { gaussianIoU } from '../eval/metrics.ts';
import { forEachContribution } from '../raster/reference.ts';
import { generateSynthScene, type SynthScene } from '../synth/generate.ts';
import { createRandom } from '../synth/random.ts';
import { synthCameras } from '../synth/views.ts';
import type { Mask2D } from './mask2d.ts';
import { PixelProbe } from './pixel-probe.ts';
import { buildViewVotes, spreadPick, viewCheck, viewVotesBytes, VIEW_CHECK_DEFAULTS, type ViewCheckOptions, type ViewVotes } from './view-check.ts';

const W = 64;
const H = 48;

let synth: SynthScene;
let cameras: Camera[];
let probe: PixelProbe;
/** Per view: one mask per object, the pixels whose blend that object carries most of. */
let masks: Mask2D[][];

function objectMasks(camera: Camera): Mask2D[] {
  const n = camera.width * camera.height;
  const ids = synth.truth.objectIds;
  const objects = Math.max(...ids) + 1;
  const carried = new Float64Array(n * objects);
  forEachContribution(synth.scene, camera, { width: camera.width, height: camera.height }, (p, g, w) => {
    carried[p * objects + ids[g]!]! += w;
  });
  const owner = new Int32Array(n).fill(-1);
  for (let p = 0; p < n; p++) {
    let best = 0.3;
    for (let o = 1; o < objects; o++) if (carried[p * objects + o]! > best) { best = carried[p * objects + o]!; owner[p] = o; }
  }
  return Array.from({ length: objects - 1 }, (_, k) => ({ width: camera.width, height: camera.height, data: Uint8Array.from(owner, (o) => (o === k + 1 ? 1 : 0)) }));
}

function truthOf(id: number): Uint8Array {
  return Uint8Array.from(synth.truth.objectIds, (o) => (o === id ? 1 : 0));
}

/** The object with the most Gaussians (the table is object 1 in a tabletop; take a thing on it). */
function someObject(): number {
  const counts = new Map<number, number>();
  for (const o of synth.truth.objectIds) counts.set(o, (counts.get(o) ?? 0) + 1);
  const onTable = [...counts].filter(([o]) => o > 1).sort((a, b) => b[1] - a[1]);
  return onTable[0]![0];
}

/**
 * The check written out plainly: byte masks, one pass at a time, float64 sums. viewCheck must give
 * the same answer.
 */
function referenceCheck(votes: ViewVotes, start: Uint8Array, o: ViewCheckOptions, exclude?: Uint8Array): Uint8Array {
  let selection = start;
  for (let pass = 0; pass < o.passes; pass++) {
    const seen = new Float64Array(selection.length);
    const inside = new Float64Array(selection.length);
    let matched = 0;
    for (const v of votes.views) {
      const pixels = v.width * v.height;
      const rendered = new Uint8Array(pixels);
      for (let p = 0; p < pixels; p++) {
        let cover = 0;
        for (let k = v.offsets[p]!; k < v.offsets[p + 1]!; k++) if (selection[v.gaussians[k]!]) cover += v.weights[k]!;
        rendered[p] = cover > 0.5 ? 1 : 0;
      }
      if (!rendered.includes(1)) continue;
      const bytes = v.masks.map((bits) => Uint8Array.from({ length: pixels }, (_, p) => (bits[p >> 5]! >>> (p & 31)) & 1));
      let best: Uint8Array | undefined;
      let bestIoU = 0;
      for (const m of bytes) {
        let inter = 0;
        let union = 0;
        for (let p = 0; p < pixels; p++) {
          if (m[p] && rendered[p]) inter++;
          if (m[p] || rendered[p]) union++;
        }
        if (union && inter / union > bestIoU) { bestIoU = inter / union; best = m; }
      }
      if (!best || bestIoU < o.match) continue;
      matched++;
      for (let p = 0; p < pixels; p++) {
        for (let k = v.offsets[p]!; k < v.offsets[p + 1]!; k++) {
          seen[v.gaussians[k]!]! += v.weights[k]!;
          if (best[p]) inside[v.gaussians[k]!]! += v.weights[k]!;
        }
      }
    }
    if (matched === 0) return selection;
    const next = selection.slice();
    for (let g = 0; g < next.length; g++) {
      if (seen[g]! < o.seen) continue;
      const share = inside[g]! / seen[g]!;
      if (selection[g] && share < o.remove) next[g] = 0;
      if (!selection[g] && share >= o.add && !exclude?.[g]) next[g] = 1;
    }
    const changed = next.some((s, g) => s !== selection[g]);
    selection = next;
    if (!changed) break;
  }
  return selection;
}

beforeAll(() => {
  synth = generateSynthScene({ seed: 21, gaussians: 3000, kind: 'tabletop' });
  cameras = synthCameras(synth.truth, { views: 8, width: W, height: H }, createRandom(4));
  probe = new PixelProbe(synth.scene);
  masks = cameras.map(objectMasks);
});

describe('recording views', () => {
  it('records the reference blend of each view on a grid of at most maxPixels, dropping only weights below minWeight', () => {
    const views = cameras.slice(0, 3).map((camera, i) => ({ camera, masks: masks[i]! }));
    const votes = buildViewVotes(synth.scene, views, { maxPixels: (W * H) / 4, minWeight: 0.01 });
    expect(votes.count).toBe(synth.scene.count);
    expect(votes.views.map((v) => [v.width, v.height])).toEqual([[32, 24], [32, 24], [32, 24]]);
    for (let i = 0; i < 3; i++) {
      const v = votes.views[i]!;
      const grid = scaleCamera(cameras[i]!, 32, 24);
      const expected = new Map<string, number>();
      forEachContribution(synth.scene, grid, { width: 32, height: 24 }, (p, g, w) => {
        if (w >= 0.01) expected.set(`${p}:${g}`, w);
      });
      const got = new Map<string, number>();
      for (let p = 0; p < 32 * 24; p++) for (let k = v.offsets[p]!; k < v.offsets[p + 1]!; k++) got.set(`${p}:${v.gaussians[k]}`, v.weights[k]!);
      expect(got.size).toBe(expected.size);
      for (const [key, w] of expected) expect(got.get(key)).toBeCloseTo(w, 5);
      // Each mask, resampled to the grid, keeps its pixels.
      const m = masks[i]![0]!;
      for (let y = 0; y < 24; y++) for (let x = 0; x < 32; x++) {
        const p = y * 32 + x;
        expect((v.masks[0]![p >> 5]! >>> (p & 31)) & 1).toBe(m.data[(2 * y + 1) * W + 2 * x + 1]);
      }
    }
    expect(viewVotesBytes(votes)).toBeGreaterThan(0);
  });

  it('records at most maxViews views spread over the list, and none without masks', () => {
    expect(spreadPick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 4)).toEqual([0, 2, 5, 7]);
    expect(spreadPick([0, 1, 2], 4)).toEqual([0, 1, 2]);
    const views = cameras.map((camera, i) => ({ camera, masks: i === 1 ? [] : masks[i]! }));
    const votes = buildViewVotes(synth.scene, views, { maxViews: 4 });
    expect(votes.views.map((v) => v.name)).toEqual(spreadPick(cameras.filter((_, i) => i !== 1), 4).map((c) => c.name));
  });
});

describe('the multi-view check', () => {
  let votes: ViewVotes;
  beforeAll(() => {
    votes = buildViewVotes(synth.scene, cameras.map((camera, i) => ({ camera, masks: masks[i]! })));
  });

  it('gives the plain reference answer on random recordings, masks, selections and exclusions', () => {
    const r = new Mulberry32(9);
    for (let trial = 0; trial < 20; trial++) {
      const n = 200;
      const views = Array.from({ length: 3 }, (_, i) => {
        const width = 7 + i, height = 5;
        const pixels = width * height;
        const offsets = new Uint32Array(pixels + 1);
        const gaussians: number[] = [];
        const weights: number[] = [];
        for (let p = 0; p < pixels; p++) {
          const k = r.below(5);
          for (let j = 0; j < k; j++) { gaussians.push(r.below(n)); weights.push(r.next() * 0.6); }
          offsets[p + 1] = gaussians.length;
        }
        const maskCount = 1 + r.below(4);
        const bitsets = Array.from({ length: maskCount }, () => {
          const bits = new Uint32Array(Math.ceil(pixels / 32));
          for (let p = 0; p < pixels; p++) if (r.next() < 0.4) bits[p >> 5]! |= 1 << (p & 31);
          return bits;
        });
        // A pinhole at the origin looking down z with unit focal length: (x, y, 1) lands on pixel (x, y).
        const camera: Camera = { name: `v${i}`, width, height, fx: 1, fy: 1, cx: 0, cy: 0, rotation: [1, 0, 0, 0, 1, 0, 0, 0, 1], translation: [0, 0, 0] };
        const boxes = Int32Array.from(bitsets.flatMap(() => [0, 0, width - 1, height - 1]));
        const totals = new Float32Array(n);
        gaussians.forEach((g, k) => (totals[g]! += weights[k]!));
        return { name: `v${i}`, camera, width, height, offsets, gaussians: Uint32Array.from(gaussians), weights: Float32Array.from(weights), masks: bitsets, boxes, totals };
      });
      // Centres at two opposite corners of every view, so that the selection's region is the whole grid
      // and the plain reference, which walks every pixel, must agree exactly.
      const positions = new Float32Array(3 * n);
      for (let g = 0; g < n; g++) positions.set(g % 2 ? [0.1, 0.1, 1] : [6.9, 4.9, 1], 3 * g);
      const random: ViewVotes = { count: n, positions, views };
      const selection = Uint8Array.from({ length: n }, () => (r.next() < 0.5 ? 1 : 0));
      const exclude = trial % 2 ? Uint8Array.from({ length: n }, () => (r.next() < 0.2 ? 1 : 0)) : undefined;
      const options: ViewCheckOptions = { match: 0.2 + 0.1 * r.below(3), add: 0.4, remove: 0.2, seen: 0.05, passes: 1 + r.below(3) };
      const got = viewCheck(random, selection, options, exclude).selection;
      expect(Array.from(got)).toEqual(Array.from(referenceCheck(random, selection, options, exclude)));
    }
  });

  it('mends a selection that missed part of an object and took in part of its neighbour', () => {
    const id = someObject();
    const r = new Mulberry32(3);
    // Drop 40% of the object and take 10% of the table it stands on.
    const start = Uint8Array.from(synth.truth.objectIds, (o) => (o === id ? (r.next() < 0.6 ? 1 : 0) : o === 1 ? (r.next() < 0.1 ? 1 : 0) : 0));
    const before = gaussianIoU(start, synth.truth.objectIds, id);
    const result = viewCheck(votes, start);
    expect(result.matched).toBeGreaterThanOrEqual(4);
    expect(result.added).toBeGreaterThan(0);
    expect(result.removed).toBeGreaterThan(0);
    expect(before).toBeLessThan(0.6);
    expect(gaussianIoU(result.selection, synth.truth.objectIds, id)).toBeGreaterThan(0.85);
  });

  it('leaves Gaussians that no matched view sees as they were', () => {
    const id = someObject();
    const start = truthOf(id);
    const seen = new Uint8Array(start.length);
    for (const v of votes.views) for (const g of v.gaussians) seen[g] = 1;
    // Flip every unseen Gaussian: the check must keep them flipped.
    let unseen = 0;
    for (let g = 0; g < start.length; g++) if (!seen[g]) { start[g] = start[g] ? 0 : 1; unseen++; }
    expect(unseen).toBeGreaterThan(0);
    const out = viewCheck(votes, start).selection;
    for (let g = 0; g < start.length; g++) if (!seen[g]) expect(out[g]).toBe(start[g]);
  });

  it('changes nothing when no view has a mask like the selection, or the selection is empty', () => {
    const blank: ViewVotes = { ...votes, views: votes.views.map((v) => ({ ...v, masks: [new Uint32Array(v.masks[0]!.length)] })) };
    const start = truthOf(someObject());
    const result = viewCheck(blank, start);
    expect(result.matched).toBe(0);
    expect(result.added + result.removed).toBe(0);
    expect(Array.from(result.selection)).toEqual(Array.from(start));
    const empty = new Uint8Array(start.length);
    expect(viewCheck(votes, empty).selection.some((s) => s)).toBe(false);
  });

  it('never adds an excluded Gaussian (one a negative click took away)', () => {
    const id = someObject();
    const truth = truthOf(id);
    // A quarter of the object is missing; a negative click took away half of that quarter.
    const start = Uint8Array.from(truth, (t, g) => (t && g % 4 !== 0 ? 1 : 0));
    const exclude = Uint8Array.from(truth, (t, g) => (t && g % 8 === 0 ? 1 : 0));
    const out = viewCheck(votes, start, {}, exclude).selection;
    let added = 0;
    for (let g = 0; g < out.length; g++) {
      if (exclude[g]) expect(out[g]).toBe(0);
      if (out[g] && !start[g]) added++;
    }
    expect(added).toBeGreaterThan(0);
  });

  it('stops when a pass changes nothing', () => {
    const settled = viewCheck(votes, truthOf(someObject()), { passes: 10 });
    expect(settled.passes).toBeLessThan(10);
    const again = viewCheck(votes, settled.selection, { passes: 10 });
    expect(again.passes).toBe(1);
    expect(again.added + again.removed).toBe(0);
    expect(Array.from(again.selection)).toEqual(Array.from(settled.selection));
  });
});
