import { beforeAll, describe, expect, it } from 'vitest';
import { referenceRasterizer } from '../eval/rasterizer.ts';
import { generateSynthScene, type SynthScene } from './generate.ts';
import { DEFAULT_ORACLE_OPTIONS, EXACT_ORACLE_OPTIONS, oracleMasksForView, oracleNoiseSummary, type OracleMask, type OracleView } from './oracle-masks.ts';
import { createRandom } from './random.ts';
import { renderTruthView, synthCameras } from './views.ts';

let synth: SynthScene;
let views: OracleView[];

beforeAll(() => {
  // A real rendered scene: label maps come from the reference rasterizer's blend.
  synth = generateSynthScene({ seed: 21, gaussians: 6000, kind: 'tabletop' });
  const cameras = synthCameras(synth.truth, { views: 6, width: 96, height: 72 }, createRandom(21));
  views = cameras.map((camera) => {
    const v = renderTruthView(synth.scene, synth.truth, camera, referenceRasterizer);
    return { name: camera.name, width: camera.width, height: camera.height, objectLabels: v.objectLabels, partLabels: v.partLabels };
  });
});

function masksOf(options = DEFAULT_ORACLE_OPTIONS): OracleMask[][] {
  return views.map((v, i) => oracleMasksForView(v, i, synth.truth.objects, synth.truth.parts, options));
}

describe('oracle automatic masks', () => {
  it('are nested: any two masks of a view are disjoint or one contains the other', () => {
    for (const masks of masksOf({ ...DEFAULT_ORACLE_OPTIONS, seed: 5, merge: 0.5 })) {
      expect(masks.length).toBeGreaterThan(3);
      for (let a = 0; a < masks.length; a++) {
        for (let b = a + 1; b < masks.length; b++) {
          const A = masks[a]!.data, B = masks[b]!.data;
          let inter = 0;
          for (let i = 0; i < A.length; i++) if (A[i] && B[i]) inter++;
          expect(inter === 0 || inter === Math.min(masks[a]!.area, masks[b]!.area)).toBe(true);
        }
      }
    }
  });

  it('come at several granularities, and an object is found at different granularities in different views', () => {
    const all = masksOf({ ...DEFAULT_ORACLE_OPTIONS, seed: 5 });
    const kinds = new Set(all.flat().map((m) => m.kind));
    for (const k of kinds) expect(['part', 'object', 'group', 'background', 'merged']).toContain(k);
    for (const k of ['part', 'object', 'background'] as const) expect(kinds.has(k)).toBe(true);
    // Per object with several parts: in which views it came as parts, as a whole, or both.
    let varying = 0;
    for (const o of synth.truth.objects) {
      const partIds = new Set(synth.truth.parts.filter((p) => p.objectId === o.id).map((p) => p.id));
      if (partIds.size < 2) continue;
      const levels = new Set<string>();
      all.forEach((masks) => {
        const asObject = masks.some((m) => m.kind === 'object' && m.ids[0] === o.id);
        const asParts = masks.some((m) => m.kind === 'part' && partIds.has(m.ids[0]!));
        if (asObject || asParts) levels.add(`${asObject}/${asParts}`);
      });
      if (levels.size > 1) varying++;
    }
    expect(varying).toBeGreaterThanOrEqual(2);
  });

  it('have measured noise: exact settings reproduce the truth, default settings stay within bounds', () => {
    const exact = oracleNoiseSummary(masksOf(EXACT_ORACLE_OPTIONS).flat());
    // Not exactly 1: oracle object masks are unions of part regions, and where a pixel's winning part
    // belongs to another object than its winning object the label map disagrees (a thin seam).
    expect(exact.overall).toBeGreaterThan(0.98);
    expect(exact.byKind.part?.meanIoU).toBe(1);
    const noisy = masksOf({ ...DEFAULT_ORACLE_OPTIONS, seed: 5 });
    const summary = oracleNoiseSummary(noisy.flat());
    const heavy = oracleNoiseSummary(masksOf({ ...DEFAULT_ORACLE_OPTIONS, seed: 5, boundaryJitter: 4 }).flat());
    console.log(
      `oracle mask IoU vs label maps: default ${summary.overall.toFixed(3)} over ${summary.count} masks ` +
        `(${Object.entries(summary.byKind).map(([k, v]) => `${k} ${v.meanIoU.toFixed(3)} x${v.count}`).join(', ')}); jitter 4 px: ${heavy.overall.toFixed(3)}`,
    );
    expect(summary.overall).toBeGreaterThan(0.65);
    expect(summary.overall).toBeLessThan(0.97);
    expect(heavy.overall).toBeLessThan(summary.overall);
    // Misses remove masks: with a high miss rate far fewer come out.
    const kept = masksOf({ ...DEFAULT_ORACLE_OPTIONS, seed: 5, miss: 0.6 }).flat().length;
    expect(kept).toBeLessThan(noisy.flat().length * 0.7);
  });

  it('are deterministic per seed and view', () => {
    const a = masksOf({ ...DEFAULT_ORACLE_OPTIONS, seed: 8 });
    const b = masksOf({ ...DEFAULT_ORACLE_OPTIONS, seed: 8 });
    expect(a.map((v) => v.map((m) => [m.kind, m.ids, m.area]))).toEqual(b.map((v) => v.map((m) => [m.kind, m.ids, m.area])));
    const c = masksOf({ ...DEFAULT_ORACLE_OPTIONS, seed: 9 });
    expect(c.map((v) => v.map((m) => [m.kind, m.ids, m.area]))).not.toEqual(a.map((v) => v.map((m) => [m.kind, m.ids, m.area])));
  });
});
