import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { syntheticScene } from '../engine/raster/test-scenes.ts';
import { convertScene } from './convert.ts';
import { encodeScene, readScene, writeScene } from './io.ts';
import { parsePlyHeader } from './ply-header.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saga-convert-scene-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 100k Gaussians of SH degree 3: about 24 MB, three chunks and more of the streaming converter. */
const COUNT = 100_000;

async function bytesOf(path: string): Promise<Buffer> {
  return readFile(path);
}

/** What reading the whole scene and writing it gives: the reference every streamed output must equal. */
async function wholeConversion(input: string, ext: 'ply' | 'splat'): Promise<Buffer> {
  const scene = await readScene(input, { nonFinite: 'keep' });
  if (ext === 'splat') return Buffer.from(encodeScene(scene, 'splat'));
  const out = join(dir, `reference-${Math.random().toString(36).slice(2)}.ply`);
  await writeScene(scene, out);
  return bytesOf(out);
}

/** The same PLY with every 4-byte word swapped and the header saying big endian (all-float layouts only). */
function toBigEndian(bytes: Buffer): Buffer {
  const header = parsePlyHeader(bytes);
  const text = bytes.subarray(0, header.headerBytes).toString('latin1').replace('binary_little_endian', 'binary_big_endian');
  const body = Buffer.from(bytes.subarray(header.headerBytes));
  body.swap32();
  return Buffer.concat([Buffer.from(text, 'latin1'), body]);
}

describe('convertScene', () => {
  it('passes a float32 INRIA PLY through as bytes, across chunks, exactly as a whole read and write would', async () => {
    const input = join(dir, 'in.ply');
    await writeScene(syntheticScene(COUNT, 3, 3), input);
    const out = join(dir, 'out.ply');
    const result = await convertScene(input, out);
    expect(result).toEqual({ count: COUNT, shDegree: 3, path: 'passthrough' });
    expect((await bytesOf(out)).equals(await wholeConversion(input, 'ply'))).toBe(true);
    expect((await bytesOf(out)).equals(await bytesOf(input))).toBe(true);
  });

  it('streams layouts that must be converted (big endian, an 8-bit extra) to the bytes of a whole conversion', async () => {
    const le = join(dir, 'le.ply');
    await writeScene(syntheticScene(COUNT, 5, 2), le);
    const be = join(dir, 'be.ply');
    await writeFile(be, toBigEndian(await bytesOf(le)));
    const fromBe = join(dir, 'from-be.ply');
    expect((await convertScene(be, fromBe)).path).toBe('streamed');
    expect((await bytesOf(fromBe)).equals(await bytesOf(le))).toBe(true);

    const labelled = syntheticScene(COUNT, 6, 1);
    labelled.extras = [{ name: 'label', type: 'uchar', data: Uint8Array.from({ length: COUNT }, (_, i) => i % 251) }];
    const mixed = join(dir, 'mixed.ply');
    await writeScene(labelled, mixed);
    const fromMixed = join(dir, 'from-mixed.ply');
    expect((await convertScene(mixed, fromMixed)).path).toBe('streamed');
    expect((await bytesOf(fromMixed)).equals(await wholeConversion(mixed, 'ply'))).toBe(true);
  });

  it('streams a PLY to .splat records equal to encoding the whole scene', async () => {
    const input = sharedScene(SCENES.inria);
    const out = join(dir, 'inria.splat');
    expect((await convertScene(input, out)).path).toBe('streamed');
    expect((await bytesOf(out)).equals(await wholeConversion(input, 'splat'))).toBe(true);
  });

  it('reads other inputs whole (compressed PLY to PLY)', async () => {
    const out = join(dir, 'guitar.ply');
    const result = await convertScene(sharedScene(SCENES.guitar), out);
    expect(result).toEqual({ count: 90854, shDegree: 0, path: 'whole' });
    expect((await readScene(out)).count).toBe(90854);
  });

  it('refuses NaN/Inf values with their count and first row, leaving no file; keeps them when asked', async () => {
    const scene = syntheticScene(COUNT, 9, 3);
    scene.positions[5000 * 3 + 1] = Number.NaN;
    scene.shRest[70_000 * 45 + 44] = Number.POSITIVE_INFINITY;
    scene.opacities[70_000] = Number.NaN;
    for (const [name, mutate] of [['le', false], ['be', true]] as const) {
      const input = join(dir, `nan-${name}.ply`);
      await writeScene(scene, input);
      if (mutate) await writeFile(input, toBigEndian(await bytesOf(input)));
      const out = join(dir, `nan-${name}-out.ply`);
      await expect(convertScene(input, out)).rejects.toMatchObject({ code: 'NON_FINITE_VALUES', details: { count: 2, firstRow: 5000 } });
      expect((await readdir(dir)).filter((f) => f.startsWith(`nan-${name}-out`))).toEqual([]);
      await convertScene(input, out, { nonFinite: 'keep' });
      const kept = await readScene(out, { nonFinite: 'report' });
      expect(kept.source?.nonFinite).toEqual({ count: 2, firstRow: 5000 });
    }
  });

  it('stops when cancelled and leaves no file', async () => {
    const input = join(dir, 'cancel.ply');
    await writeScene(syntheticScene(COUNT, 11, 3), input);
    const controller = new AbortController();
    const out = join(dir, 'cancelled.ply');
    const converting = convertScene(input, out, { signal: controller.signal, onProgress: () => controller.abort() });
    await expect(converting).rejects.toMatchObject({ code: 'CANCELLED' });
    expect((await readdir(dir)).filter((f) => f.startsWith('cancelled'))).toEqual([]);
  });
});
