import { describe, expect, it } from 'vitest';
import { lookAtCamera } from '../../scene/camera.ts';
import { createScene, logit, type GaussianScene } from '../../scene/gaussians.ts';
import { chanceGaussianIoU, gaussianIoU, maskScores, selectionMasks } from './metrics.ts';
import { recordingRasterizer, referenceRasterizer } from './rasterizer.ts';
import { generateSynthScene } from '../synth/generate.ts';
import { liftMask } from './single-view.ts';
import { maskForBox, maskForPoints } from '../segment/view-masks.ts';
import { evaluate } from './evaluate.ts';
import type { Mask2D } from '../segment/mask2d.ts';
import type { SegmentationMethod } from '../segment/types.ts';

/** Two opaque round Gaussians, left (object 1) and right (object 2), seen head-on by a 40x20 camera. */
function twoBlobs(): { scene: GaussianScene; objectIds: Int32Array } {
  const scene = createScene(2, 0);
  scene.positions.set([-1, 0, 0, 1, 0, 0]);
  scene.scales.fill(Math.log(0.35));
  scene.opacities.fill(logit(0.99));
  return { scene, objectIds: Int32Array.from([1, 2]) };
}
const camera = lookAtCamera('front', [0, 0, -4], [0, 0, 0], [0, -1, 0], 40, 20, (45 * Math.PI) / 180);

function rect(w: number, h: number, x0: number, y0: number, x1: number, y1: number): Mask2D {
  const data = new Uint8Array(w * h);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) data[y * w + x] = 1;
  return { width: w, height: h, data };
}

describe('3D and 2D metrics', () => {
  it('3D IoU: identical selections score 1, disjoint 0, partial overlap its exact ratio', () => {
    const ids = Int32Array.from([1, 1, 1, 1, 2, 2, 0, 0]);
    expect(gaussianIoU(Uint8Array.from([1, 1, 1, 1, 0, 0, 0, 0]), ids, 1)).toBe(1);
    expect(gaussianIoU(Uint8Array.from([0, 0, 0, 0, 1, 1, 1, 1]), ids, 1)).toBe(0);
    // 2 of 4 target Gaussians plus 2 others: intersection 2, union 6.
    expect(gaussianIoU(Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0]), ids, 1)).toBeCloseTo(2 / 6, 12);
    expect(gaussianIoU(new Uint8Array(8), ids, 7)).toBe(1);
    // Random selection of 4 out of 8 with a 4-Gaussian target: expected intersection 2, union 6.
    expect(chanceGaussianIoU(4, 4, 8)).toBeCloseTo(2 / 6, 12);
  });

  it('2D IoU and accuracy against a label map', () => {
    const labels = Uint16Array.from([0, 1, 1, 0, 2, 2, 0, 0]);
    expect(maskScores(Uint8Array.from([0, 1, 1, 0, 0, 0, 0, 0]), labels, 1)).toEqual({ iou: 1, accuracy: 1 });
    expect(maskScores(Uint8Array.from([0, 0, 0, 0, 1, 1, 0, 0]), labels, 1)).toEqual({ iou: 0, accuracy: 4 / 8 });
    expect(maskScores(Uint8Array.from([0, 1, 0, 1, 0, 0, 0, 0]), labels, 1)).toEqual({ iou: 1 / 3, accuracy: 6 / 8 });
    expect(maskScores(new Uint8Array(8), labels, 5).iou).toBeUndefined();
  });

  it("renders a selection's mask where the selected Gaussians dominate the blend", () => {
    const { scene } = twoBlobs();
    const [left, none, both] = selectionMasks(scene, camera, [Uint8Array.from([1, 0]), new Uint8Array(2), Uint8Array.from([1, 1])], referenceRasterizer);
    let leftArea = 0, rightHalf = 0;
    for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) if (left![y * 40 + x]) { leftArea++; if (x >= 20) rightHalf++; }
    expect(leftArea).toBeGreaterThan(10);
    expect(rightHalf).toBe(0);
    expect(none!.every((v) => v === 0)).toBe(true);
    let bothArea = 0;
    for (const v of both!) bothArea += v;
    expect(bothArea).toBeGreaterThanOrEqual(2 * leftArea - 2);
  });
});

describe('single-view baseline pieces', () => {
  it('lifts a 2D mask to the Gaussians whose weight lies mostly inside it', () => {
    const { scene } = twoBlobs();
    expect(Array.from(liftMask(scene, camera, rect(40, 20, 0, 0, 20, 20), referenceRasterizer))).toEqual([1, 0]);
    expect(Array.from(liftMask(scene, camera, rect(40, 20, 20, 0, 40, 20), referenceRasterizer))).toEqual([0, 1]);
    // A mask at another resolution is sampled at the nearest pixel.
    expect(Array.from(liftMask(scene, camera, rect(80, 40, 0, 0, 40, 40), referenceRasterizer))).toEqual([1, 0]);
    expect(Array.from(liftMask(scene, camera, rect(40, 20, 0, 0, 1, 1), referenceRasterizer))).toEqual([0, 0]);
  });

  it('picks, per positive click, the largest mask without a negative click', () => {
    // Nested like SAM's output: part inside object inside group; the group also holds the neighbour.
    const part = rect(20, 10, 2, 2, 5, 5);
    const object = rect(20, 10, 1, 1, 8, 8);
    const group = rect(20, 10, 0, 0, 16, 10);
    const elsewhere = rect(20, 10, 17, 0, 20, 10);
    const masks = [group, object, part, elsewhere];
    expect(maskForPoints(masks, [{ x: 3.5, y: 3.5, label: 1 }, { x: 12.5, y: 5.5, label: 0 }])).toEqual({ ...object, data: Uint8Array.from(object.data) });
    // Positives only: the smallest mask holding all of them (a scribble across parts names the object).
    expect(maskForPoints(masks, [{ x: 3.5, y: 3.5, label: 1 }])!.data).toEqual(part.data);
    expect(maskForPoints(masks, [{ x: 3.5, y: 3.5, label: 1 }, { x: 6.5, y: 6.5, label: 1 }])!.data).toEqual(object.data);
    expect(maskForPoints(masks, [{ x: 3.5, y: 3.5, label: 1 }, { x: 6.5, y: 6.5, label: 0 }])!.data).toEqual(part.data);
    expect(maskForPoints(masks, [{ x: 3.5, y: 3.5, label: 1 }, { x: 3.5, y: 3.5, label: 0 }])).toBeUndefined();
    // Two positives in separate masks: their union.
    const union = maskForPoints([part, elsewhere], [{ x: 3.5, y: 3.5, label: 1 }, { x: 18.5, y: 1.5, label: 1 }])!;
    let area = 0;
    for (const v of union.data) area += v;
    expect(area).toBe(9 + 30);
  });

  it('picks the mask whose bounding box best matches a box prompt', () => {
    const part = rect(20, 10, 2, 2, 5, 5);
    const object = rect(20, 10, 1, 1, 8, 8);
    expect(maskForBox([part, object], [1, 1, 8, 8])).toBe(object);
    expect(maskForBox([part, object], [2, 2, 6, 5])).toBe(part);
    expect(maskForBox([part], [15, 0, 20, 3])).toBeUndefined();
  });
});

describe('evaluate', () => {
  it('scores a perfect method at 1 and an empty one at 0, in 3D and in held-out views', async () => {
    const { scene, objectIds } = twoBlobs();
    const side = lookAtCamera('side', [1, 0, -4], [0, 0, 0], [0, -1, 0], 40, 20, (45 * Math.PI) / 180);
    const cameras = [camera, side];
    // Label maps from the blend: the ground truth of a two-blob scene.
    const labels = new Map<string, Uint16Array>();
    for (const c of cameras) {
      const [m1, m2] = selectionMasks(scene, c, [Uint8Array.from([1, 0]), Uint8Array.from([0, 1])], referenceRasterizer);
      const l = new Uint16Array(c.width * c.height);
      for (let i = 0; i < l.length; i++) l[i] = m1![i] ? 1 : m2![i] ? 2 : 0;
      labels.set(c.name, l);
    }
    const perfect: SegmentationMethod = { name: 'truth', description: 'returns the truth', segment: async (_c, p) => Uint8Array.from(objectIds, (id) => (p.view === 'front' && id === 1 ? 1 : 0)) };
    const empty: SegmentationMethod = { name: 'empty', description: 'selects nothing', segment: async (ctx) => new Uint8Array(ctx.scene.count) };
    const report = await evaluate(
      {
        name: 'two-blobs',
        scene,
        cameras,
        objectIds,
        labels,
        masks: { masksFor: async () => [] },
        prompts: [{ id: 'left', targetId: 1, targetName: 'left', view: 'front', visibleArea: 1, points: [{ x: 10, y: 10, label: 1 }], scribble: [[10, 10]], box: [0, 0, 20, 20], negativeOn: 2 }],
      },
      { methods: [perfect, empty], kinds: ['points'] },
    );
    const [p, e] = report.results;
    expect(p!.prompts[0]!.iou3d).toBe(1);
    expect(p!.prompts[0]!.heldOutViews).toBe(1);
    expect(p!.prompts[0]!.miou2d).toBe(1);
    expect(p!.prompts[0]!.macc2d).toBe(1);
    expect(e!.prompts[0]!.iou3d).toBe(0);
    expect(e!.prompts[0]!.miou2d).toBe(0);
    expect(e!.mean.latencyMs).toBeGreaterThanOrEqual(0);
  });
});

describe('recording rasterizer', () => {
  it('replays exactly the contributions of the renderer, also after evicting views', () => {
    const { scene } = generateSynthScene({ seed: 2, gaussians: 3000, kind: 'shelf' });
    const cams = [0, 1, 2].map((i) => lookAtCamera(`v${i}`, [3 * Math.cos(i * 2), 3 * Math.sin(i * 2), 1.5], [0, 0, 0.6], [0, 0, 1], 48, 36, 0.9));
    const collect = (r: typeof referenceRasterizer, c: (typeof cams)[number]) => {
      const out: number[] = [];
      r.forEachContribution(scene, c, (p, g, w) => out.push(p, g, Math.fround(w)));
      return out;
    };
    const direct = cams.map((c) => collect(referenceRasterizer, c));
    expect(direct[0]!.length).toBeGreaterThan(3000);
    // Room for about one view: every call after the first evicts, and results must not change.
    const small = recordingRasterizer(referenceRasterizer, direct[0]!.length * 4);
    for (const round of [0, 1]) {
      cams.forEach((c, i) => expect(collect(small, c), `round ${round} view ${i}`).toEqual(direct[i]));
    }
  });
});
