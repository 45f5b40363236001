import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasks } from './amg.ts';
import { promptTensors, SAM_DEFAULT_CONVENTION, SAM_PIXEL_MEAN, SAM_PIXEL_STD, SamPredictor } from './sam.ts';
import { unpackMask } from './storage.ts';
import { tinySamDecoder, tinySamEncoder, tinySamEncoderHwc, TINY_IOU, TINY_RADII } from './testing/tiny-sam.ts';

let dir: string;
let predictor: SamPredictor;
const files = () => ({ id: 'tiny', encoderPath: join(dir, 'encoder.onnx'), decoderPath: join(dir, 'decoder.onnx'), convention: SAM_DEFAULT_CONVENTION });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'saga-sam-'));
  writeFileSync(join(dir, 'encoder.onnx'), tinySamEncoder());
  writeFileSync(join(dir, 'decoder.onnx'), tinySamDecoder());
  writeFileSync(join(dir, 'encoder-hwc.onnx'), tinySamEncoderHwc());
  writeFileSync(join(dir, 'garbage.onnx'), new TextEncoder().encode('this is not a protobuf model'));
  predictor = await SamPredictor.load(files(), { threads: 1 });
});
afterAll(async () => {
  await predictor?.close();
  rmSync(dir, { recursive: true, force: true });
});

function twoColourImage(w: number, h: number, a: number[], b: number[]) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(x < w / 2 ? a : b, (y * w + x) * 3);
  return { width: w, height: h, data };
}

const normMean = (rgb: number[]) => rgb.reduce((s, v, c) => s + (v - SAM_PIXEL_MEAN[c]!) / SAM_PIXEL_STD[c]!, 0) / 3;

describe('SAM encoder on onnxruntime-node', () => {
  it('resizes the longest side to 1024, normalises with SAM mean/std and zero-pads', async () => {
    // 256x128 -> 1024x512: each half is 512 px wide, so 16x16 pooling cells never straddle colours.
    const A = [200, 30, 90];
    const B = [10, 250, 128];
    const emb = await predictor.embed(twoColourImage(256, 128, A, B));
    expect([emb.channels, emb.height, emb.width, emb.inputWidth, emb.inputHeight]).toEqual([256, 64, 64, 1024, 512]);
    for (const c of [0, 100, 255]) {
      const k = 1 + c / 256;
      const at = (y: number, x: number) => emb.data[c * 4096 + y * 64 + x]!;
      expect(at(5, 3)).toBeCloseTo(k * normMean(A), 4);
      expect(at(30, 60)).toBeCloseTo(k * normMean(B), 4);
      // Rows 32..63 are padding below the 512-high resized image: zero after normalisation.
      expect(at(40, 10)).toBe(0);
      expect(at(63, 63)).toBe(0);
    }
  });

  it('feeds samexporter-style exports (resized HWC, pre-processing in the graph) the same pixels', async () => {
    const hwc = await SamPredictor.load({ ...files(), encoderPath: join(dir, 'encoder-hwc.onnx'), convention: { ...SAM_DEFAULT_CONVENTION, layout: 'hwc-resized-raw', inputName: 'input_image' } }, { threads: 1 });
    try {
      // A non-trivial image: a gradient with a bright disc, 300 x 170 (resized to 1024 x 580).
      const w = 300, h = 170;
      const data = new Uint8Array(w * h * 3);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const inDisc = (x - 200) ** 2 + (y - 80) ** 2 < 40 ** 2;
        data.set(inDisc ? [250, 240, 30] : [x % 256, (y * 3) % 256, 90], (y * w + x) * 3);
      }
      const a = await predictor.embed({ width: w, height: h, data });
      const b = await hwc.embed({ width: w, height: h, data });
      expect([b.inputWidth, b.inputHeight]).toEqual([1024, 580]);
      let maxDiff = 0;
      for (let i = 0; i < a.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.data[i]! - b.data[i]!));
      expect(maxDiff).toBeLessThan(1e-4);
    } finally {
      await hwc.close();
    }
  });
});

describe('SAM prompt decoder', () => {
  it('maps prompts into the 1024 frame and appends the padding point without a box', () => {
    const emb = { imageWidth: 200, imageHeight: 100, inputWidth: 1024, inputHeight: 512 };
    const p = promptTensors({ points: [{ x: 100, y: 50, label: 1 }, { x: 10, y: 20, label: 0 }] }, emb);
    expect(Array.from(p.coords)).toEqual([512, 256, 51.2, 102.4, 0, 0].map((v) => Math.fround(v)));
    expect(Array.from(p.labels)).toEqual([1, 0, -1]);
    const b = promptTensors({ box: [0, 0, 200, 100] }, emb);
    expect(Array.from(b.labels)).toEqual([2, 3]);
    expect(Array.from(b.coords)).toEqual([0, 0, 1024, 512]);
  });

  it('returns the three multimask outputs at the original size with their predicted IoU', async () => {
    const img = twoColourImage(200, 100, [120, 120, 120], [120, 120, 120]);
    const emb = await predictor.embed(img);
    const d = await predictor.decode(emb, { points: [{ x: 120, y: 40, label: 1 }] });
    expect([d.count, d.width, d.height]).toEqual([3, 200, 100]);
    expect(Array.from(d.iou)).toEqual(TINY_IOU.slice(1).map((v) => Math.fround(v)));
    expect(d.lowRes.length).toBe(3 * 256 * 256);
    // Mask 1 is a disc of radius 60 (1024 frame) = 60 * 200 / 1024 px around the point.
    const r = (TINY_RADII[1] * 200) / 1024;
    let area = 0;
    for (let i = 0; i < 200 * 100; i++) if (d.logits[i]! > 0) area++;
    expect(area / (Math.PI * r * r)).toBeGreaterThan(0.9);
    expect(area / (Math.PI * r * r)).toBeLessThan(1.1);
    expect(d.logits[40 * 200 + 120]!).toBeGreaterThan(0);
    expect(d.logits[40 * 200 + 120 + Math.ceil(r) + 2]!).toBeLessThan(0);
    const single = await predictor.decode(emb, { points: [{ x: 120, y: 40, label: 1 }] }, false);
    expect(single.count).toBe(1);
    expect(single.iou[0]).toBeCloseTo(TINY_IOU[0], 6);
  });

  it('passes boxes and a previous mask to the decoder', async () => {
    const emb = await predictor.embed(twoColourImage(200, 100, [90, 90, 90], [90, 90, 90]));
    // The tiny decoder centres its discs on the first prompt point: a box's top-left corner.
    const boxed = await predictor.decode(emb, { box: [50, 20, 150, 80] });
    expect(boxed.logits[20 * 200 + 50]!).toBeGreaterThan(0);
    expect(boxed.logits[80 * 200 + 150]!).toBeLessThan(0);
    // mask_input is added to the logits only when has_mask_input is 1.
    const refined = await predictor.decode(emb, { points: [{ x: 10, y: 10, label: 1 }], maskInput: new Float32Array(256 * 256).fill(1e6) });
    expect(refined.logits.every((v) => v > 0)).toBe(true);
    expect(refined.lowRes[0]).toBeGreaterThan(1e5);
  });

  it('runs automatic mask generation end to end: IoU and stability filters, NMS, masks around each point', async () => {
    const img = twoColourImage(200, 100, [60, 60, 60], [60, 60, 60]);
    const emb = await predictor.embed(img);
    const { masks, width, height } = await generateMasks((x, y, size) => predictor.decode(emb, { points: [{ x, y, label: 1 }] }, true, size), 200, 100, { pointsPerSide: 4 });
    expect([width, height]).toEqual([200, 100]);
    // Mask 2 (soft) fails stability, mask 3 fails predicted IoU: one disc per grid point survives.
    expect(masks).toHaveLength(16);
    for (const m of masks) {
      expect(m.predictedIou).toBeCloseTo(TINY_IOU[1], 6);
      expect(m.stability).toBeGreaterThan(0.95);
      const bin = unpackMask(m.bits, width * height);
      expect(bin[Math.floor(m.point[1]) * width + Math.floor(m.point[0])]).toBe(1);
    }
  });
});

describe('model errors', () => {
  it('gives MODEL_NOT_FOUND for a missing file and MODEL_INVALID for garbage or a wrong graph', async () => {
    await expect(SamPredictor.load({ ...files(), encoderPath: join(dir, 'nope.onnx') })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(SamPredictor.load({ ...files(), encoderPath: join(dir, 'garbage.onnx') })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    const wrong = SamPredictor.load({ ...files(), decoderPath: join(dir, 'encoder.onnx') });
    await expect(wrong).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    await expect(wrong).rejects.toThrow(/lacks image_embeddings/);
  });
});
