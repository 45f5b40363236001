import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { type GaussianScene, SH_C0, createScene, sigmoid } from './gaussians.ts';
import { detectSceneFormat, encodeScene, readScene, readSceneBytes, writeScene } from './io.ts';
import { parsePlyHeader } from './ply-header.ts';
import { oracleColumns } from './splat-transform-oracle.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saga-io-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Our scene's values for a PLY column name, as a row accessor. */
function columnOf(scene: GaussianScene, name: string): (i: number) => number {
  const rest = scene.shRest.length / scene.count;
  const m = /^f_rest_(\d+)$/.exec(name);
  if (m) {
    const k = Number(m[1]);
    return (i) => scene.shRest[i * rest + k]!;
  }
  const std: Record<string, [Float32Array, number, number]> = {
    x: [scene.positions, 3, 0], y: [scene.positions, 3, 1], z: [scene.positions, 3, 2],
    scale_0: [scene.scales, 3, 0], scale_1: [scene.scales, 3, 1], scale_2: [scene.scales, 3, 2],
    rot_0: [scene.rotations, 4, 0], rot_1: [scene.rotations, 4, 1], rot_2: [scene.rotations, 4, 2], rot_3: [scene.rotations, 4, 3],
    opacity: [scene.opacities, 1, 0], f_dc_0: [scene.sh0, 3, 0], f_dc_1: [scene.sh0, 3, 1], f_dc_2: [scene.sh0, 3, 2],
  };
  const s = std[name];
  if (s) {
    const [a, stride, off] = s;
    return (i) => a[i * stride + off]!;
  }
  const e = scene.extras.find((x) => x.name === name);
  if (!e) throw new Error(`no column ${name}`);
  return (i) => e.data[i]!;
}

/** Largest |ours - oracle| over a column, with opacities compared as alpha (sigmoid). */
function maxColumnError(scene: GaussianScene, name: string, oracle: ArrayLike<number>): number {
  let worst = 0;
  const ours = columnOf(scene, name);
  for (let i = 0; i < scene.count; i++) {
    let a = ours(i);
    let b = oracle[i]!;
    if (name === 'opacity') {
      a = sigmoid(a);
      b = sigmoid(b);
    }
    const d = Math.abs(a - b);
    if (!(d <= worst)) worst = d; // NaN propagates as a failure
  }
  return worst;
}

describe('readers agree with @playcanvas/splat-transform on the shared real scenes', () => {
  it('INRIA PLY (inria-sh3-9080.ply): 9,080 Gaussians, 62 properties, every value identical', async () => {
    const path = sharedScene(SCENES.inria);
    const scene = await readScene(path);
    const oracle = await oracleColumns(path);
    expect(scene.count).toBe(9080);
    expect(oracle.count).toBe(9080);
    expect(scene.shDegree).toBe(3);
    expect(scene.source?.plyProperties).toHaveLength(62);
    expect(scene.extras.map((e) => e.name)).toEqual(['nx', 'ny', 'nz']);
    expect(oracle.columns.size).toBe(62);
    for (const [name, values] of oracle.columns) {
      expect(maxColumnError(scene, name, values), name).toBe(0);
    }
  });

  it('compressed PLY with SH degree 3 (compressed-sh3-64.ply): values equal within quantisation', async () => {
    const path = sharedScene(SCENES.compressedSh3);
    const scene = await readScene(path);
    const oracle = await oracleColumns(path);
    expect(scene.count).toBe(64);
    expect(oracle.count).toBe(64);
    expect(scene.shDegree).toBe(3);
    expect(scene.source?.format).toBe('compressed-ply');
    expect(oracle.columns.size).toBe(14 + 45);
    for (const [name, values] of oracle.columns) {
      const tol = name === 'opacity' ? 1 / 255 : ['x', 'y', 'z'].includes(name) ? 0 : 1e-6;
      expect(maxColumnError(scene, name, values), name).toBeLessThanOrEqual(tol);
    }
  });

  it('compressed PLY (guitar.compressed.ply): 90,854 Gaussians, positions equal, the rest within quantisation', async () => {
    const path = sharedScene(SCENES.guitar);
    const stages: string[] = [];
    const scene = await readScene(path, { onProgress: (p) => stages.push(`${p.stage} ${p.done}/${p.total}`) });
    expect(stages).toEqual(['read 1479876/1479876', 'decode 90854/90854']);
    const oracle = await oracleColumns(path);
    expect(scene.count).toBe(90854);
    expect(oracle.count).toBe(90854);
    expect(scene.shDegree).toBe(0);
    for (const [name, values] of oracle.columns) {
      const tol = name === 'opacity' ? 1 / 255 : ['x', 'y', 'z'].includes(name) ? 0 : 1e-6;
      expect(maxColumnError(scene, name, values), name).toBeLessThanOrEqual(tol);
    }
  });

  it('antimatter15 .splat (antimatter-22764.splat): positions equal, colours exact, rotations within 8 bits', async () => {
    const path = sharedScene(SCENES.antimatter);
    const scene = await readScene(path);
    const oracle = await oracleColumns(path);
    expect(scene.count).toBe(22764);
    expect(oracle.count).toBe(22764);
    for (const [name, values] of oracle.columns) {
      // The oracle decodes rotation bytes as b/255*2-1, the original viewer (and we) as (b-128)/128:
      // the two readings of the same byte differ by under one 8-bit step.
      const tol = name.startsWith('rot_') ? 2 / 128 : name === 'opacity' ? 1e-6 : ['x', 'y', 'z'].includes(name) ? 0 : 1e-5;
      expect(maxColumnError(scene, name, values), name).toBeLessThanOrEqual(tol);
    }
  });
});

describe('round trips', () => {
  it('INRIA PLY -> writeScene -> identical file bytes (header and float data)', async () => {
    const path = sharedScene(SCENES.inria);
    const original = new Uint8Array(await readFile(path));
    const scene = await readScene(path);
    const out = join(dir, 'roundtrip.ply');
    await writeScene(scene, out);
    const written = new Uint8Array(await readFile(out));
    const h0 = parsePlyHeader(original);
    const h1 = parsePlyHeader(written);
    expect(h1.elements).toEqual(h0.elements);
    expect(Buffer.from(written.subarray(h1.headerBytes)).equals(Buffer.from(original.subarray(h0.headerBytes)))).toBe(true);
    // encodeScene (in memory) produces the same bytes as the streaming writer.
    expect(Buffer.from(encodeScene(scene, 'ply')).equals(Buffer.from(written))).toBe(true);
  });

  it('.splat -> writeScene -> .splat reproduces the bytes, and PLY -> .splat -> PLY stays within 8-bit quantisation', async () => {
    const splatPath = sharedScene(SCENES.antimatter);
    const original = new Uint8Array(await readFile(splatPath));
    const scene = await readScene(splatPath);
    const out = join(dir, 'roundtrip.splat');
    await writeScene(scene, out);
    const written = new Uint8Array(await readFile(out));
    expect(written.length).toBe(original.length);
    // Positions and colour/alpha bytes are reproduced exactly; a few rotation bytes may move by one
    // step (the original writer rounds differently), and linear scales pass through log/exp.
    let rotDiff = 0;
    let positionOrColourDiffers = 0;
    for (let i = 0; i < scene.count; i++) {
      const o = i * 32;
      for (let k = 0; k < 12; k++) if (written[o + k] !== original[o + k]) positionOrColourDiffers++;
      for (let k = 24; k < 28; k++) if (written[o + k] !== original[o + k]) positionOrColourDiffers++;
      for (let k = 28; k < 32; k++) rotDiff = Math.max(rotDiff, Math.abs(written[o + k]! - original[o + k]!));
    }
    expect(positionOrColourDiffers).toBe(0);
    expect(rotDiff).toBeLessThanOrEqual(2);

    const ply = await readScene(sharedScene(SCENES.inria));
    const viaSplat = readSceneBytes(encodeScene(ply, 'splat'), 'splat');
    expect(viaSplat.count).toBe(ply.count);
    let positionsDiffer = 0, worstScale = 0, worstColour = 0, worstAlpha = 0, worstDot = 1;
    for (let i = 0; i < ply.count; i++) {
      for (let a = 0; a < 3; a++) {
        if (viaSplat.positions[i * 3 + a] !== ply.positions[i * 3 + a]) positionsDiffer++;
        worstScale = Math.max(worstScale, Math.abs(viaSplat.scales[i * 3 + a]! - ply.scales[i * 3 + a]!));
        const c0 = Math.min(1, Math.max(0, 0.5 + SH_C0 * ply.sh0[i * 3 + a]!));
        const c1 = 0.5 + SH_C0 * viaSplat.sh0[i * 3 + a]!;
        worstColour = Math.max(worstColour, Math.abs(c1 - c0));
      }
      worstAlpha = Math.max(worstAlpha, Math.abs(sigmoid(viaSplat.opacities[i]!) - sigmoid(ply.opacities[i]!)));
      // Same rotation up to sign, within 8-bit steps per component.
      const q = ply.rotations.subarray(i * 4, i * 4 + 4);
      const len = Math.hypot(...q);
      let dot = 0;
      for (let k = 0; k < 4; k++) dot += (q[k]! / len) * viaSplat.rotations[i * 4 + k]!;
      worstDot = Math.min(worstDot, Math.abs(dot));
    }
    expect(positionsDiffer).toBe(0);
    expect(worstScale).toBeLessThan(1e-5);
    expect(worstColour).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    expect(worstAlpha).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    expect(worstDot).toBeGreaterThan(0.999);
  });

  it('streams a PLY larger than one 16 MB chunk to the same scene as an in-memory decode', async () => {
    const n = 70_000; // 70,000 x 248 bytes = 17.4 MB: two chunks, the second partial
    const scene = createScene(n, 3);
    let s = 7;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) - 0.5;
    for (const a of [scene.positions, scene.scales, scene.rotations, scene.opacities, scene.sh0, scene.shRest]) {
      for (let i = 0; i < a.length; i++) a[i] = rand();
    }
    scene.extras = [{ name: 'label', type: 'uint', data: Uint32Array.from({ length: n }, (_, i) => i * 7) }];
    // Non-finite values in both chunks: the per-chunk scan must count them like a whole-scene scan.
    scene.positions[10 * 3 + 2] = Infinity;
    scene.shRest[69_000 * 45 + 44] = NaN;
    const out = join(dir, 'big.ply');
    const progress: number[] = [];
    await writeScene(scene, out);
    const streamed = await readScene(out, { onProgress: (p) => progress.push(p.done), nonFinite: 'report' });
    const inMemory = readSceneBytes(new Uint8Array(await readFile(out)), 'ply', { nonFinite: 'report' });
    expect(streamed.source?.nonFinite).toEqual({ count: 2, firstRow: 10 });
    expect(inMemory.source?.nonFinite).toEqual({ count: 2, firstRow: 10 });
    await expect(readScene(out)).rejects.toMatchObject({ code: 'NON_FINITE_VALUES', details: { count: 2, firstRow: 10 } });
    for (const key of ['positions', 'scales', 'rotations', 'opacities', 'sh0', 'shRest'] as const) {
      expect(Buffer.from(streamed[key].buffer).equals(Buffer.from(scene[key].buffer)), key).toBe(true);
      expect(Buffer.from(inMemory[key].buffer).equals(Buffer.from(scene[key].buffer)), key).toBe(true);
    }
    expect(Array.from(streamed.extras[0]!.data)).toEqual(Array.from(scene.extras[0]!.data));
    expect(streamed.extras[0]!.type).toBe('uint');
    expect(progress.at(-1)).toBe(n);
    expect(progress.length).toBeGreaterThanOrEqual(2);
  });

  it('writes atomically: no temporary file is left and a failed write keeps the old file', async () => {
    const scene = await readScene(sharedScene(SCENES.compressedSh3));
    const out = join(dir, 'atomic.ply');
    await writeFile(out, 'previous content');
    await writeScene(scene, out);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const broken = { ...scene, sh0: new Float32Array(3) }; // arrays no longer match the count
    await expect(writeScene(broken, out)).rejects.toMatchObject({ name: 'SagaError' });
    const again = await readScene(out);
    expect(again.count).toBe(64);
    await expect(writeScene(scene, join(dir, 'no-such-folder', 'x.ply'))).rejects.toMatchObject({ code: 'WRITE_FAILED' });
    await expect(writeScene(scene, join(dir, 'x.obj'))).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('PLY variants and options', () => {
  const header = (format: string, n: number) =>
    `ply\nformat ${format} 1.0\ncomment hand-written\nelement vertex ${n}\nproperty float x\nproperty float y\nproperty float z\nproperty float f_dc_0\nproperty float f_dc_1\nproperty float f_dc_2\nproperty float opacity\nproperty float scale_0\nproperty float scale_1\nproperty float scale_2\nproperty float rot_0\nproperty float rot_1\nproperty float rot_2\nproperty float rot_3\nproperty uchar label\nend_header\n`;
  const rows = [
    [1.5, -2, 3.25, 0.1, 0.2, 0.3, -1, -3, -4, -5, 1, 0, 0, 0, 7],
    [-0.5, 8, 1e-3, -0.1, 0, 0.5, 2.5, -2, -2, -2, 0.5, 0.5, 0.5, 0.5, 255],
  ];
  const check = (scene: GaussianScene) => {
    expect(scene.count).toBe(2);
    expect(scene.shDegree).toBe(0);
    for (let r = 0; r < 2; r++) {
      const v = rows[r]!;
      expect(Array.from(scene.positions.subarray(r * 3, r * 3 + 3))).toEqual([v[0], v[1], v[2]].map((v) => Math.fround(v!)));
      expect(Array.from(scene.sh0.subarray(r * 3, r * 3 + 3))).toEqual([v[3], v[4], v[5]].map((v) => Math.fround(v!)));
      expect(scene.opacities[r]).toBe(Math.fround(v[6]!));
      expect(Array.from(scene.scales.subarray(r * 3, r * 3 + 3))).toEqual([v[7], v[8], v[9]].map((v) => Math.fround(v!)));
      expect(Array.from(scene.rotations.subarray(r * 4, r * 4 + 4))).toEqual([v[10], v[11], v[12], v[13]].map((v) => Math.fround(v!)));
      expect(scene.extras[0]!.data[r]).toBe(v[14]);
    }
    expect(scene.extras[0]!.type).toBe('uchar');
    expect(scene.extras[0]!.data).toBeInstanceOf(Uint8Array);
  };

  it('reads ASCII PLY', () => {
    const text = header('ascii', 2) + rows.map((r) => r.join(' ')).join('\n') + '\n';
    check(readSceneBytes(new TextEncoder().encode(text), 'ply'));
  });

  it('reads big-endian and little-endian binary PLY with a non-float extra (DataView path)', () => {
    for (const little of [false, true]) {
      const head = new TextEncoder().encode(header(little ? 'binary_little_endian' : 'binary_big_endian', 2));
      const body = new Uint8Array(2 * (14 * 4 + 1));
      const dv = new DataView(body.buffer);
      let o = 0;
      for (const r of rows) {
        for (let k = 0; k < 14; k++, o += 4) dv.setFloat32(o, r[k]!, little);
        dv.setUint8(o++, r[14]!);
      }
      const bytes = new Uint8Array(head.length + body.length);
      bytes.set(head);
      bytes.set(body, head.length);
      const scene = readSceneBytes(bytes, 'ply');
      check(scene);
      // Writing keeps the uchar extra and the source order; reading that back is identical.
      const again = readSceneBytes(encodeScene(scene, 'ply'), 'ply');
      check(again);
      expect(again.source?.plyProperties).toEqual(scene.source?.plyProperties);
    }
  });

  it('converts integer-typed standard properties instead of copying their bits', () => {
    const gaussianFloats = ['f_dc_0', 'f_dc_1', 'f_dc_2', 'opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3'];
    const head = new TextEncoder().encode(
      `ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty int x\nproperty int y\nproperty float z\n${gaussianFloats.map((n) => `property float ${n}\n`).join('')}property uint id\nend_header\n`,
    );
    const rowBytes = 4 * (3 + gaussianFloats.length + 1);
    const body = new DataView(new ArrayBuffer(2 * rowBytes));
    [[3, -7, 0.5, 11], [-100000, 42, -2.25, 4000000000]].forEach(([x, y, z, id], r) => {
      const o = r * rowBytes;
      body.setInt32(o, x!, true);
      body.setInt32(o + 4, y!, true);
      body.setFloat32(o + 8, z!, true);
      gaussianFloats.forEach((_, k) => body.setFloat32(o + 12 + 4 * k, 0.25 * k, true));
      body.setUint32(o + rowBytes - 4, id!, true);
    });
    const bytes = new Uint8Array(head.length + body.byteLength);
    bytes.set(head);
    bytes.set(new Uint8Array(body.buffer), head.length);
    const scene = readSceneBytes(bytes, 'ply');
    expect(Array.from(scene.positions)).toEqual([3, -7, 0.5, -100000, 42, -2.25]);
    expect(Array.from(scene.rotations.subarray(0, 4))).toEqual([1.75, 2, 2.25, 2.5]);
    expect(Array.from(scene.extras[0]!.data)).toEqual([11, 4000000000]);
  });

  it('rejects a point cloud PLY (no Gaussian properties) with a clear message', () => {
    const text = 'ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n1 2 3 255 0 0\n';
    expect(() => readSceneBytes(new TextEncoder().encode(text), 'ply')).toThrowError(/it is a point cloud or mesh, not a 3D Gaussian Splatting scene/);
  });

  it('non-finite values: rejected by default naming count and first row, kept or reported on request', () => {
    const text = header('ascii', 3) + [rows[0]!.join(' '), rows[1]!.join(' '), rows[1]!.map((v, k) => (k === 1 ? 'nan' : k === 7 ? 'inf' : v)).join(' ')].join('\n');
    const bytes = new TextEncoder().encode(text.replace('inf', '-inf'));
    expect(() => readSceneBytes(bytes, 'ply')).toThrowError(/1 of 3 Gaussians hold NaN or infinite values \(first at row 2\)/);
    try {
      readSceneBytes(bytes, 'ply');
    } catch (e) {
      expect(e).toMatchObject({ code: 'NON_FINITE_VALUES', details: { count: 1, firstRow: 2 } });
    }
    const kept = readSceneBytes(bytes, 'ply', { nonFinite: 'keep' });
    expect(Number.isNaN(kept.positions[7])).toBe(true);
    expect(kept.scales[6]).toBe(-Infinity);
    const reported = readSceneBytes(bytes, 'ply', { nonFinite: 'report' });
    expect(reported.source?.nonFinite).toEqual({ count: 1, firstRow: 2 });
    const clean = readSceneBytes(new TextEncoder().encode(header('ascii', 2) + rows.map((r) => r.join(' ')).join('\n')), 'ply', { nonFinite: 'report' });
    expect(clean.source?.nonFinite).toEqual({ count: 0, firstRow: -1 });
  });

  it('detects formats from content first, then extension', async () => {
    const inria = new Uint8Array(await readFile(sharedScene(SCENES.inria))).subarray(0, 65536);
    const guitar = new Uint8Array(await readFile(sharedScene(SCENES.guitar))).subarray(0, 65536);
    expect(detectSceneFormat('a.ply', inria)).toBe('ply');
    expect(detectSceneFormat('whatever.bin', inria)).toBe('ply');
    expect(detectSceneFormat('a.ply', guitar)).toBe('compressed-ply');
    expect(detectSceneFormat('a.splat', new Uint8Array(32))).toBe('splat');
    expect(detectSceneFormat('a.spz', new Uint8Array([0x1f, 0x8b]))).toBe('spz');
    expect(() => detectSceneFormat('a.obj', new Uint8Array(8))).toThrowError(/unknown scene format '.obj'/);
    expect(() => detectSceneFormat('a.ply', new Uint8Array(8))).toThrowError(/does not start with the 'ply' magic/);
  });
});
