import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { type GaussianScene, shRestPerChannel, sigmoid } from './gaussians.ts';
import { encodeScene, readScene, readSceneBytes, writeScene } from './io.ts';
import { type NianticCloud, type NianticSpz, loadNianticSpz, nianticCloud } from './splat-transform-oracle.ts';

let spz: NianticSpz;
let ply: GaussianScene;
let dir: string;
beforeAll(async () => {
  spz = await loadNianticSpz();
  ply = await readScene(sharedScene(SCENES.inria));
  dir = await mkdtemp(join(tmpdir(), 'saga-spz-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Errors { position: number; scale: number; rotationDot: number; alpha: number; color: number; sh: number }

/** Largest differences between our scene and a Niantic cloud (both in RDF axes). */
function compare(scene: GaussianScene, cloud: NianticCloud): Errors {
  const n = scene.count;
  const per = shRestPerChannel(scene.shDegree);
  const e: Errors = { position: 0, scale: 0, rotationDot: 1, alpha: 0, color: 0, sh: 0 };
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) {
      e.position = Math.max(e.position, Math.abs(scene.positions[i * 3 + a]! - cloud.positions[i * 3 + a]!));
      e.scale = Math.max(e.scale, Math.abs(scene.scales[i * 3 + a]! - cloud.scales[i * 3 + a]!));
      e.color = Math.max(e.color, Math.abs(scene.sh0[i * 3 + a]! - cloud.colors[i * 3 + a]!));
    }
    e.alpha = Math.max(e.alpha, Math.abs(sigmoid(scene.opacities[i]!) - sigmoid(cloud.alphas[i]!)));
    const q = [scene.rotations[i * 4 + 1]!, scene.rotations[i * 4 + 2]!, scene.rotations[i * 4 + 3]!, scene.rotations[i * 4]!];
    const ql = Math.hypot(...q);
    const r = cloud.rotations.subarray(i * 4, i * 4 + 4);
    const rl = Math.hypot(...r);
    let dot = 0;
    for (let k = 0; k < 4; k++) dot += (q[k]! / ql) * (r[k]! / rl);
    e.rotationDot = Math.min(e.rotationDot, Math.abs(dot));
    for (let j = 0; j < per; j++) {
      for (let c = 0; c < 3; c++) {
        e.sh = Math.max(e.sh, Math.abs(scene.shRest[i * per * 3 + c * per + j]! - cloud.sh[(i * per + j) * 3 + c]!));
      }
    }
  }
  return e;
}

describe('.spz against the official Niantic library (WebAssembly build bundled by splat-transform)', () => {
  for (const version of [2, 3, 4]) {
    it(`reads version ${version} written by Niantic from RDF data: same values as Niantic's own loader, and the PLY values within quantisation`, () => {
      const bytes = spz.saveSpzToBuffer(nianticCloud(ply), { version, from: spz.CoordinateSystem.RDF, sh1Bits: 5, shRestBits: 4 });
      const ours = readSceneBytes(bytes, 'spz');
      expect(ours.count).toBe(9080);
      expect(ours.shDegree).toBe(3);
      expect(ours.source?.format).toBe('spz');
      // Niantic's loader converting RUB back to RDF: decoding must agree to float precision.
      const theirs = spz.loadSpzFromBuffer(bytes, { to: spz.CoordinateSystem.RDF });
      const vsLoader = compare(ours, theirs);
      expect(vsLoader.position).toBe(0);
      expect(vsLoader.scale).toBe(0);
      expect(vsLoader.color).toBeLessThan(1e-5);
      expect(vsLoader.sh).toBe(0);
      expect(vsLoader.alpha).toBeLessThan(1e-6);
      expect(vsLoader.rotationDot).toBeGreaterThan(1 - 1e-6);
      // Against the source PLY: within the format's quantisation (and its clamped ranges).
      const vsPly = compare(ours, nianticCloud(ply));
      expect(vsPly.position).toBeLessThanOrEqual(0.5 / 4096 + 1e-4);
      expect(vsPly.rotationDot).toBeGreaterThan(version === 2 ? 0.98 : 0.999);
      expect(vsPly.alpha).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    });
  }

  it('writes .spz that the Niantic loader reads back as the same scene (within quantisation), with axes converted', async () => {
    const out = join(dir, 'scene.spz');
    await writeScene(ply, out);
    const ours = await readScene(out);
    const bytes = encodeScene(ply, 'spz');
    const theirsRdf = spz.loadSpzFromBuffer(bytes, { to: spz.CoordinateSystem.RDF });
    const theirsRub = spz.loadSpzFromBuffer(bytes, { to: spz.CoordinateSystem.RUB });
    expect(theirsRdf.numPoints).toBe(9080);
    const vsLoader = compare(ours, theirsRdf);
    expect(vsLoader.position).toBe(0);
    expect(vsLoader.sh).toBe(0);
    expect(vsLoader.rotationDot).toBeGreaterThan(1 - 1e-6);
    const vsPly = compare(ours, nianticCloud(ply));
    expect(vsPly.position).toBeLessThanOrEqual(0.5 / 4096 + 1e-4);
    expect(vsPly.rotationDot).toBeGreaterThan(0.999);
    // Stored axes are RUB: y and z are negated relative to the PLY.
    expect(theirsRub.positions[1]).toBeCloseTo(-ply.positions[1]!, 3);
    expect(theirsRub.positions[2]).toBeCloseTo(-ply.positions[2]!, 3);
    expect(theirsRub.positions[0]).toBeCloseTo(ply.positions[0]!, 3);
  });

  it('rejects what it cannot read with typed errors', () => {
    const good = spz.saveSpzToBuffer(nianticCloud(ply), { version: 3, from: spz.CoordinateSystem.RDF, sh1Bits: 5, shRestBits: 4 });
    expect(() => readSceneBytes(good.subarray(0, good.length >> 1), 'spz')).toThrowError(expect.objectContaining({ code: 'TRUNCATED' }));
    expect(() => readSceneBytes(new Uint8Array([1, 2, 3, 4]), 'spz')).toThrowError(expect.objectContaining({ code: 'BAD_HEADER' }));
    const header = new Uint8Array(16);
    const dv = new DataView(header.buffer);
    dv.setUint32(0, 0x5053474e, true);
    dv.setUint32(4, 9, true);
    expect(() => readSceneBytes(gzipSync(header), 'spz')).toThrowError(expect.objectContaining({ code: 'UNSUPPORTED_FORMAT' }));
    dv.setUint32(4, 3, true);
    dv.setUint32(8, 4_000_000_000, true); // absurd count in a 16-byte file
    expect(() => readSceneBytes(gzipSync(header), 'spz')).toThrowError(expect.objectContaining({ code: 'TOO_LARGE' }));
    dv.setUint32(8, 1000, true);
    expect(() => readSceneBytes(gzipSync(header), 'spz')).toThrowError(expect.objectContaining({ code: 'TRUNCATED' }));
    // 9M Gaussians (about 600 MB unpacked) declared in a tiny file: refused from the header alone.
    dv.setUint32(8, 9_000_000, true);
    const rss = process.memoryUsage.rss();
    expect(() => readSceneBytes(gzipSync(header), 'spz')).toThrowError(/9,000,000 Gaussians, which cannot fit in its \d+ compressed bytes/);
    expect(process.memoryUsage.rss() - rss).toBeLessThan(64 * 1024 * 1024);
    // More data than the header declares.
    dv.setUint32(8, 1, true);
    const padded = new Uint8Array(16 + 9 + 1 + 3 + 3 + 4 + 100);
    padded.set(header);
    expect(() => readSceneBytes(gzipSync(padded), 'spz')).toThrowError(expect.objectContaining({ code: 'SIZE_MISMATCH' }));
    dv.setUint32(8, 0, true);
    expect(() => readSceneBytes(gzipSync(header), 'spz')).toThrowError(expect.objectContaining({ code: 'EMPTY_SCENE' }));
  });
});
